"""Benchmarks for eqlab.gconv: run by hand, `python benchmarks/bench_gconv.py`; figures in BENCHMARKS.md.

1. Forward + backward (train mode) of GroupConv2d against torch.nn.Conv2d with the same total channel
   counts (C x |G|), batch 64, at 28 and 32 pixels, kernels 3 and 5: medians of interleaved rounds.
2. Construction time of a 64 -> 64 regular-field GroupConv2d on p4m.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable

import torch

from eqlab.nn import GroupConv2d


def timed(fn: Callable[[], object], repeats: int = 1) -> float:
    """Best wall time of ``repeats`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def step(module: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        module.zero_grad(set_to_none=True)
        module(x).sum().backward()

    return run


def bench_forward_backward(group: str, channels: int, rounds: int = 7) -> None:
    order = 4 if group == "p4" else 8
    wide = channels * order
    print(f"\n## {group}: GroupConv2d({channels} -> {channels}) vs Conv2d({wide} -> {wide}), batch 64")
    for size in (28, 32):
        for kernel in (3, 5):
            gconv = GroupConv2d(channels, channels, kernel, group=group, padding=kernel // 2).train()
            conv = torch.nn.Conv2d(channels * order, channels * order, kernel, padding=kernel // 2).train()
            x_group = torch.randn(64, channels, order, size, size)
            x_plain = x_group.flatten(1, 2)
            step(gconv, x_group)()
            step(conv, x_plain)()
            ratios, t_g, t_c = [], [], []
            for r in range(rounds):  # interleaved, alternating which goes first, to share machine noise
                if r % 2:
                    g = timed(step(gconv, x_group), repeats=3)
                    c = timed(step(conv, x_plain), repeats=3)
                else:
                    c = timed(step(conv, x_plain), repeats=3)
                    g = timed(step(gconv, x_group), repeats=3)
                ratios.append(g / c)
                t_g.append(g)
                t_c.append(c)
            print(
                f"size {size}, kernel {kernel}: Conv2d {statistics.median(t_c) * 1e3:7.1f} ms, "
                f"GroupConv2d {statistics.median(t_g) * 1e3:7.1f} ms, "
                f"ratio median {statistics.median(ratios):.3f}"
            )


def bench_construction() -> None:
    print("\n## Construction of GroupConv2d(64, 64, 3, group='p4m')")
    GroupConv2d(4, 4, 3, group="p4m")  # warm-up: imports and the cached point group
    times = [timed(lambda: GroupConv2d(64, 64, 3, group="p4m")) for _ in range(20)]
    print(f"median {statistics.median(times) * 1e3:.2f} ms, max {max(times) * 1e3:.2f} ms over 20 layers")


if __name__ == "__main__":
    torch.set_num_threads(2)
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    bench_construction()
    bench_forward_backward("p4", 8)
    bench_forward_backward("p4m", 4)
