"""Benchmark eqlab.exactness: run by hand, `python benchmarks/bench_exactness.py`; figures in BENCHMARKS.md.

How long the traced, measured check takes on a torchvision-style ResNet-18 (7x7/2 stem, 3x3/2 max pool,
basic blocks with strided 1x1 shortcuts, global pooling) at 224 and 225 pixels, against a baseline
measured in the same run: one float64 forward pass of the model at batch 2 (the measurement's batch).
Also the grid analysis alone (`exact_sizes` for one size, no measurement). Medians of 5 rounds.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from eqlab.exactness import check, exact_sizes


class Block(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.shortcut = (
            nn.Sequential(
                nn.Conv2d(channels_in, channels_out, 1, stride, bias=False), nn.BatchNorm2d(channels_out)
            )
            if stride != 1 or channels_in != channels_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet18() -> nn.Module:
    widths = [64, 128, 256, 512]
    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
    ]
    channels = 64
    for i, width in enumerate(widths):
        layers += [Block(channels, width, 1 if i == 0 else 2), Block(width, width, 1)]
        channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)]
    return nn.Sequential(*layers)


def median_time(fn: Callable[[], object], rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    torch.manual_seed(0)
    model = resnet18().eval()
    machine = platform.processor() or platform.machine()
    print(f"{machine}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(
        "| input | verdict | check (confirm=False) | check (confirm=True) | grid only "
        "| one forward (baseline) | ratios |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    probe = resnet18().double().eval()
    for size in (224, 225):
        x = torch.randn(2, 3, size, size, dtype=torch.float64)

        def forward(x: torch.Tensor = x) -> None:
            with torch.no_grad():
                probe(x)

        base = median_time(forward)
        verdict = check(model, size).verdict
        quick = median_time(lambda size=size: check(model, size, confirm=False))
        full = median_time(lambda size=size: check(model, size))
        grid = median_time(lambda size=size: exact_sizes(model, [size]))
        print(
            f"| {size} | {verdict} | {quick:.2f} s | {full:.2f} s | {grid:.2f} s | {base:.3f} s | "
            f"{quick / base:.0f}x, {full / base:.0f}x, {grid / base:.1f}x |"
        )


if __name__ == "__main__":
    main()
