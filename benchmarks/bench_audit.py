"""Benchmark `eqlab.audit` and the symbolic `exact_sizes`: `python benchmarks/bench_audit.py`; figures in
BENCHMARKS.md.

On a ResNet-50 laid out as torchvision lays it out (`tests/zoo.py`, width 64, 25.6 M parameters, and a
narrower width 16 with the same layout):

- `exact_sizes(model, range(16, 1025))`, the symbolic replay from one shapes-only trace, against the
  baseline measured in the same run: the grid analysis traced per size (what `exact_sizes` did before),
  on 61 sizes, extrapolated per size;
- `eqlab.audit(model, "rot90", 224)` without data, each part timed (`AuditReport.seconds`), against the
  baseline of one float64 forward pass of the model at batch 2 (the measurement's batch), so the audit's
  cost reads as a number of forward passes.

Medians of ``ROUNDS`` rounds (one for the audit, which takes long), two torch threads.
"""

from __future__ import annotations

import copy
import datetime
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

import eqlab
from eqlab.exactness import exact_sizes
from eqlab.exactness._analyser import _float64_copy, _grid, _ModelRefusesInput

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from zoo import randomize_batchnorm, resnet

ROUNDS = 5


def _median(fn, rounds: int = ROUNDS) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _per_size_traces(model: torch.nn.Module, sizes: range) -> list[int]:
    """The baseline: one float64 trace and analysis per size (the old `exact_sizes`)."""
    probe = _float64_copy(model)
    found = []
    for n in sizes:
        try:
            if _grid(model, (n, n), None, None, probe).report.grid_exact is True:
                found.append(n)
        except _ModelRefusesInput:
            continue
    return found


def main() -> None:
    torch.set_num_threads(2)
    machine = platform.processor() or platform.machine()
    print(f"# {datetime.date.today()}, {machine}, torch {torch.__version__}")
    for width in (64, 16):
        model = randomize_batchnorm(resnet(50, width=width, num_classes=1000), 0).eval()
        params = sum(p.numel() for p in model.parameters())
        exact_sizes(model, range(16, 40))  # warm-up
        symbolic = _median(lambda m=model: exact_sizes(m, range(16, 1025)))
        baseline_sizes = range(16, 77)
        start = time.perf_counter()
        reference = _per_size_traces(model, baseline_sizes)
        per_size = (time.perf_counter() - start) / len(baseline_sizes)
        agree = exact_sizes(model, baseline_sizes) == reference
        print(
            f"resnet50 width {width} ({params / 1e6:.1f} M parameters): "
            f"exact_sizes(16..1024) {symbolic:.3f} s; "
            f"per-size traces {per_size:.3f} s/size = {per_size * 1009:.1f} s for 1009 sizes "
            f"({per_size * 1009 / symbolic:.0f}x); same sizes on 16..76: {agree}"
        )
        probe = copy.deepcopy(model).double()
        x = torch.randn(2, 3, 224, 224, dtype=torch.float64)
        with torch.no_grad():
            probe(x)
            forward = _median(lambda p=probe, x=x: p(x), 3)
        start = time.perf_counter()
        report = eqlab.audit(model, "rot90", 224)
        total = time.perf_counter() - start
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in report.seconds.items())
        print(
            f"  audit rot90 at 224: {total:.1f} s = {total / forward:.1f} float64 forwards at batch 2 "
            f"({forward:.2f} s each); {parts}; verdict {report.verdict.value}; fixes "
            + ", ".join(f"{f.kind} {'verified' if f.verified else 'NOT verified'}" for f in report.fixes)
        )


if __name__ == "__main__":
    main()
