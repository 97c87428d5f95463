"""Benchmark for eqlab.export: run by hand, `python benchmarks/bench_export.py [threads]`; figures in
BENCHMARKS.md.

Eval-mode inference latency (no gradient) of three eqlab models against their `eqlab.export` copy, and
of both compiled with `torch.compile` (inductor), at batch 1 and batch 64, float32:

- the ``subsampling`` study's p4m G-CNN (lifting conv, two stride-2 group convs, group batch norm, pooling
  over the group axis), widths 8, 16, 16, on 29 x 29 images;
- the ``soft`` study's backbone with the sparsified ``s-fc+s-conv`` blocks, alpha 4, 16 x 16 images;
- the ``sharing`` study's `EquivariantMLP` on S_10, width 32.

Each round times every variant (best of ``repeats`` calls) in a rotating order, so all share the
machine's noise; the table gives the median over rounds of each time and of each ratio to the eqlab model
in the same round.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch import nn

import eqlab
from eqlab.studies._sharing import SharingConfig
from eqlab.studies._sharing import build_model as build_sharing
from eqlab.studies._soft._config import SoftConfig
from eqlab.studies._soft._units import build_model as build_soft
from eqlab.studies._subsampling._models import build_cnn


def best_time(fn: Callable[[torch.Tensor], object], x: torch.Tensor, repeats: int) -> float:
    """Best wall time of ``repeats`` calls ``fn(x)``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x)
        best = min(best, time.perf_counter() - start)
    return best


def models() -> dict[str, tuple[nn.Module, tuple[int, ...]]]:
    torch.manual_seed(0)
    return {
        "p4m G-CNN (subsampling)": (build_cnn("p4m", (8, 16, 16)), (1, 29, 29)),
        "soft backbone s-fc+s-conv": (build_soft(SoftConfig(alpha=4), "digit", "s-fc+s-conv"), (1, 16, 16)),
        "EquivariantMLP S_10 (sharing)": (build_sharing("sharing", SharingConfig()), (10,)),
    }


def bench(name: str, model: nn.Module, sample: tuple[int, ...], rounds: int = 7) -> None:
    model.eval()
    for batch in (1, 64):
        x = torch.randn(batch, *sample)
        plain = eqlab.export(model, x)
        torch._dynamo.reset()  # compiled modules share one code object: no cache limit across models
        variants: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
            "eqlab": model,
            "exported": plain,
            "eqlab compiled": torch.compile(model),
            "exported compiled": torch.compile(plain),
        }
        repeats = 30 if batch == 1 else 3
        with torch.no_grad():
            for fn in variants.values():  # warm-up, and the compilations
                for _ in range(3):
                    fn(x)
            times: dict[str, list[float]] = {k: [] for k in variants}
            keys = list(variants)
            for r in range(rounds):
                order = keys[r % len(keys) :] + keys[: r % len(keys)]
                for key in order:
                    times[key].append(best_time(variants[key], x, repeats))
        base = times["eqlab"]
        print(f"\n{name}, batch {batch}:")
        for key in keys:
            ratios = [b / t for b, t in zip(base, times[key], strict=True)]
            print(
                f"  {key:18s} {statistics.median(times[key]) * 1e3:8.3f} ms   speed-up over eqlab: "
                f"median {statistics.median(ratios):.2f} (rounds {min(ratios):.2f} to {max(ratios):.2f})"
            )


if __name__ == "__main__":
    # torch threads: 2 (the machine's cores) unless given; 1 measures more steadily on a busy machine
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    for name, (model, sample) in models().items():
        bench(name, model, sample)
