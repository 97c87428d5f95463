"""The ``subsampling`` study's network (`build_cnn`, the builder its checkpoints name) and its two input
sizes: the certified exact size nearest the target and the size one pixel smaller."""

from __future__ import annotations

import itertools
from functools import lru_cache

from torch import nn

from eqlab.exactness import check, exact_sizes
from eqlab.nn import GroupBatchNorm2d, GroupConv2d, GroupPool, LiftingConv2d
from eqlab.studies._subsampling._config import SubsamplingConfig


def build_cnn(group: str, widths: tuple[int, ...] | list[int], num_classes: int = 10) -> nn.Module:
    """Lifting conv, then one stride-2 3x3 group conv per further width, group batch norm and ReLU after
    each; then max over the group axis, global average pooling and a linear classifier.

    ``(B, 1, n, n) -> (B, num_classes)``."""
    layers: list[nn.Module] = [
        LiftingConv2d(1, widths[0], 3, group=group, padding=1),
        GroupBatchNorm2d(widths[0]),
        nn.ReLU(),
    ]
    for w_in, w_out in itertools.pairwise(widths):
        layers += [
            GroupConv2d(w_in, w_out, 3, group=group, stride=2, padding=1),
            GroupBatchNorm2d(w_out),
            nn.ReLU(),
        ]
    layers += [GroupPool("max"), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[-1], num_classes)]
    return nn.Sequential(*layers)


def sizes(config: SubsamplingConfig) -> tuple[int, int]:
    """The exact size nearest ``target_size`` and the size one pixel smaller (checked inexact)."""
    return _sizes_of(config.group, tuple(config.widths), config.target_size)


@lru_cache(maxsize=8)
def _sizes_of(group: str, widths: tuple[int, ...], target_size: int) -> tuple[int, int]:
    model = build_cnn(group, widths)
    candidates = exact_sizes(model, range(max(target_size - 8, 8), target_size + 9))
    if not candidates:
        raise ValueError(f"no exact input size near {target_size} for widths {widths}")
    exact = min(candidates, key=lambda n: (abs(n - target_size), n))
    if check(model, exact - 1, confirm=False).exact:
        raise ValueError(
            f"size {exact - 1} is exact too; this architecture has no one-pixel break at {exact}"
        )
    return exact, exact - 1
