"""eqlab's GroupConv2d beside escnn's R2Conv (run by hand; escnn is a benchmark extra, never a test
dependency: `pip install escnn` needs a Fortran compiler for py3nj, e.g. Debian's gfortran).

Construction time of a 64 -> 64 regular-field layer on p4m (escnn: D4 on R^2, `flipRot2dOnR2(N=4)`),
and forward + backward time at 32 px, batch 16, kernel 3, as paired rounds.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from eqlab.nn import GroupConv2d

try:
    from escnn import gspaces
    from escnn import nn as enn
except ImportError:  # pragma: no cover - an optional comparison
    sys.exit("escnn is not installed: pip install escnn (needs a Fortran compiler), then run again")


def escnn_layer(channels: int) -> tuple[enn.R2Conv, enn.FieldType]:
    space = gspaces.flipRot2dOnR2(N=4)
    field = enn.FieldType(space, channels * [space.regular_repr])
    return enn.R2Conv(field, field, kernel_size=3, padding=1), field


def main() -> None:
    torch.set_num_threads(2)
    start = time.perf_counter()
    escnn_layer(64)
    first = time.perf_counter() - start
    escnn_times, eqlab_times = [], []
    for _ in range(5):
        start = time.perf_counter()
        escnn_layer(64)
        escnn_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        GroupConv2d(64, 64, 3, group="p4m", padding=1)
        eqlab_times.append(time.perf_counter() - start)
    print("## Construction, 64 -> 64 regular fields on p4m (D4), kernel 3")
    later = statistics.median(escnn_times) * 1e3
    print(f"escnn R2Conv: first {first * 1e3:.0f} ms, then median {later:.0f} ms")
    print(f"eqlab GroupConv2d: median {statistics.median(eqlab_times) * 1e3:.2f} ms")

    print("\n## Forward + backward, 16 -> 16 regular fields, 32 px, batch 16 (train mode)")
    layer, field = escnn_layer(16)
    ours = GroupConv2d(16, 16, 3, group="p4m", padding=1)
    x = torch.randn(16, 16 * 8, 32, 32)
    x_field = enn.GeometricTensor(x, field)
    x_group = x.view(16, 16, 8, 32, 32)

    def step_escnn() -> None:
        layer.zero_grad(set_to_none=True)
        layer(x_field).tensor.sum().backward()

    def step_eqlab() -> None:
        ours.zero_grad(set_to_none=True)
        ours(x_group).sum().backward()

    ratios = []
    for _ in range(7):
        times = []
        for fn in (step_escnn, step_eqlab):
            fn()
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                fn()
                best = min(best, time.perf_counter() - start)
            times.append(best)
        ratios.append(times[0] / times[1])
    print(f"escnn / eqlab time ratio: median {statistics.median(ratios):.2f} over 7 rounds")


if __name__ == "__main__":
    main()
