"""Run the bad-input battery outside pytest and print its counts: ``python -m tests.battery.count``.

Options: ``--entry PREFIX`` runs only the entry points starting with PREFIX; ``--show KIND`` lists the
cases of one outcome (clear, obscure, silent) with what happened.
"""

from __future__ import annotations

import argparse
import collections
import logging
import warnings

from tests.battery import load
from tests.battery.harness import run_case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entry", default="")
    parser.add_argument("--show", action="append", default=[])
    options = parser.parse_args()
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    cases = [c for c in load().cases if c.entry.startswith(options.entry)]
    per_entry: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    shown = []
    for case in cases:
        outcome = run_case(case)
        per_entry[case.entry][outcome.kind] += 1
        if outcome.kind in options.show:
            shown.append(f"{outcome.kind:8s} {case.id}\n         {outcome.detail[:300]}")
    totals: collections.Counter[str] = collections.Counter()
    for entry, counts in sorted(per_entry.items()):
        totals.update(counts)
        print(f"{entry:48s} " + " ".join(f"{k} {counts[k]:3d}" for k in ("clear", "obscure", "silent")))
    print(
        f"\n{len(per_entry)} entry points, {len(cases)} bad inputs: "
        + ", ".join(f"{totals[k]} {k}" for k in ("clear", "obscure", "silent"))
    )
    if shown:
        print("\n" + "\n".join(shown))


if __name__ == "__main__":
    main()
