"""Import time of eqlab: run by hand, `python benchmarks/bench_import.py`; figures in BENCHMARKS.md.

Each command runs in a fresh interpreter, so nothing is cached in the process; the wall time includes
the interpreter's start. Every round runs every command once, in a rotated order, so that the machine's
noise falls on all of them alike. Each command's time is the median over the rounds; its added time and
ratio to the baseline (torch's own import) are medians of the per-round differences and ratios, which
pair each run with the baseline's run of the same round. The issue's targets: ``import eqlab.nn`` adds
under 0.2 s to torch's import, and ``eqlab --help`` (the console script) answers in under 0.5 s.

The commands run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` is dropped from their
environment), as for an installed package, so the warm-up run compiles eqlab's sources once.

Options: ``--rounds N`` (default 9, at least 7).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

PYTHON = sys.executable
CONSOLE_SCRIPT = str(Path(sys.executable).parent / "eqlab")
BASELINE = "import torch"

CASES: dict[str, list[str]] = {
    "python -c pass": [PYTHON, "-c", "pass"],
    BASELINE: [PYTHON, "-c", "import torch"],
    "import torch; import eqlab.nn": [PYTHON, "-c", "import torch; import eqlab.nn"],
    "import eqlab": [PYTHON, "-c", "import eqlab"],
    "import typer": [PYTHON, "-c", "import typer"],
    "eqlab --help": [CONSOLE_SCRIPT, "--help"],
    "python -m eqlab --help": [PYTHON, "-m", "eqlab", "--help"],
}
"""What is timed: a label and the command line run for it."""

TARGETS = {
    "import torch; import eqlab.nn": ("added", 0.2),
    "eqlab --help": ("wall", 0.5),
}
"""The issue's targets: seconds added to the baseline, or wall seconds."""


def wall_time(argv: Sequence[str]) -> float:
    """Wall seconds of one run of ``argv`` in a fresh process; a failing command stops the benchmark."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return elapsed


def measure(cases: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    """Wall times of every case, one per round, the order rotated each round (after one warm-up)."""
    labels = list(cases)
    for label in labels:  # warm-up: fill the file cache and write bytecode
        wall_time(cases[label])
    times: dict[str, list[float]] = {label: [] for label in labels}
    for r in range(rounds):
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
            times[label].append(wall_time(cases[label]))
    return times


def report(times: dict[str, list[float]]) -> None:
    base_runs = times[BASELINE]
    print(f"\n{'command':32s} {'median':>8s} {'min':>7s} {'max':>7s} {'added':>8s} {'ratio':>6s}  target")
    for label, runs in times.items():
        median = statistics.median(runs)
        added = statistics.median(t - b for t, b in zip(runs, base_runs, strict=True))
        ratio = statistics.median(t / b for t, b in zip(runs, base_runs, strict=True))
        target = ""
        if label in TARGETS:
            kind, bound = TARGETS[label]
            value = added if kind == "added" else median
            met = "met" if value < bound else "NOT met"
            target = f"{kind} < {bound} s: {met}"
        print(
            f"{label:32s} {median:7.3f}s {min(runs):6.3f}s {max(runs):6.3f}s "
            f"{added:+7.3f}s {ratio:5.2f}x  {target}"
        )
    base = statistics.median(base_runs)
    print(f"\nadded and ratio: medians of the per-round differences to `{BASELINE}` (median {base:.3f} s)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="rounds of every command (at least 7)")
    args = parser.parse_args(argv)
    if args.rounds < 7:
        parser.error(f"--rounds must be at least 7, got {args.rounds}")
    if not Path(CONSOLE_SCRIPT).exists():
        parser.error(f"the console script {CONSOLE_SCRIPT} is missing: install eqlab in this environment")
    import torch  # only for the versions printed; the timed imports run in their own processes

    print(
        f"# import time: Python {platform.python_version()}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, {args.rounds} rounds (median of each)"
    )
    report(measure(CASES, args.rounds))


if __name__ == "__main__":
    main()
