"""Benchmark for eqlab.layerwise, run by hand: `python benchmarks/bench_layerwise.py` (BENCHMARKS.md).

Weight matching of two independently initialised VGG-11 networks with batch norm (CIFAR widths 64 to
512, 3 input channels), and of a network with a randomly permuted copy of itself (which must be
recovered exactly). When the `rebasin` package imports (install it in its own venv: it pulls torchview
and needs graphviz), its PermutationCoordinateDescent runs on the same pair.

`python benchmarks/bench_layerwise.py solvers` times the order-4 assignment (`rot90` merging): the
exact integer program on random Gaussian costs (the hard case) by width, and the heuristic's reported
gap to the linear assignment beside the exact optimum's, then alone at larger widths.
"""

from __future__ import annotations

import platform
import sys
import time

import numpy as np
import torch

from eqlab.layerwise import _cycles, align
from eqlab.layerwise._permute import permute_model
from eqlab.layerwise._spec import derive_spec
from eqlab.studies._layerwise import VGG11, build_vgg


def vgg11() -> torch.nn.Sequential:
    return build_vgg(*VGG11, in_channels=3).eval()


def objective(a: torch.nn.Module, b: torch.nn.Module) -> float:
    """The weight-matching objective: the summed inner products of all permuted parameters and statistics."""
    keys = derive_spec(a).param_axes()
    sa, sb = a.state_dict(), b.state_dict()
    return float(sum((sa[k].double() * sb[k].double()).sum() for k in keys))


def main() -> None:
    print(
        f"# machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    torch.manual_seed(0)
    a, b = vgg11(), vgg11()
    print(
        f"VGG-11: {sum(p.numel() for p in a.parameters()) / 1e6:.1f} M parameters, "
        f"{len(derive_spec(a).channel_sets)} channel sets"
    )
    spec = derive_spec(a)
    permuted = permute_model(a, spec, [torch.randperm(s.size) for s in spec.channel_sets])
    for label, other in (("independent pair", b), ("permuted copy", permuted)):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            result = align(a, other, "weights")
            times.append(time.perf_counter() - start)
        worst = max(result.errors.values())
        print(
            f"eqlab weight matching, {label}: best {min(times):.2f} s, median {sorted(times)[1]:.2f} s; "
            f"largest per-layer error {worst:.3g}; objective {objective(a, other):.4g} before, "
            f"{objective(a, result.aligned):.4g} after"
        )
    try:
        from rebasin import PermutationCoordinateDescent  # type: ignore[import-not-found]
    except Exception as exc:
        print(f"rebasin not available ({type(exc).__name__}: {exc})")
        return
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = b(x)
    start = time.perf_counter()
    PermutationCoordinateDescent(a, b, x).rebasin()  # permutes b in place
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        same = float((b(x) - before).abs().max())
    print(
        f"rebasin PermutationCoordinateDescent, independent pair: {elapsed:.2f} s; objective after "
        f"{objective(a, b):.4g}; output change {same:.2g}"
    )


def solvers(seeds: int = 20) -> None:
    """The order-4 assignment: exact times by width, and the heuristic's gap against the exact one's."""
    print(f"# order-4 assignment on random Gaussian costs, {seeds} seeds per width")
    for n in (8, 12, 16, 20, 24, 28, 32):
        times, exact_gaps, heuristic_gaps = [], [], []
        for seed in range(seeds):
            cost = np.random.default_rng(1000 * n + seed).standard_normal((n, n))
            start = time.perf_counter()
            perm = _cycles._exact_order4(cost)
            times.append(time.perf_counter() - start)
            exact_gaps.append(_cycles.gap(cost, perm))
            sigma = _cycles.linear_assignment(cost)
            heuristic_gaps.append(_cycles.gap(cost, _cycles._repair(cost, 4, sigma)))
        print(
            f"n = {n:3d}: exact max {max(times):.2f} s, median {np.median(times):.2f} s; gap to the linear "
            f"assignment: exact {np.mean(exact_gaps):.3f}, heuristic {np.mean(heuristic_gaps):.3f} (means)"
        )
    for n in (64, 128, 256, 512):
        gaps, times = [], []
        for seed in range(5):
            cost = np.random.default_rng(seed).standard_normal((n, n))
            start = time.perf_counter()
            perm = _cycles.order4_assignment(cost)
            times.append(time.perf_counter() - start)
            gaps.append(_cycles.gap(cost, perm))
        print(f"n = {n:3d}: heuristic {max(times):.2f} s (max of 5), gap {np.mean(gaps):.3f} (mean)")


if __name__ == "__main__":
    solvers() if sys.argv[1:] == ["solvers"] else main()
