"""Small models that the audit's command-line tests load as ``tests._audit.models:NAME``."""

from __future__ import annotations

import torch
from torch import nn

from tests.zoo import p4_cnn


def p4() -> nn.Module:
    """eqlab's p4 CNN (lifting and group convolutions, group pooling, a linear head): exactly invariant to
    rot90 at sides 3 (mod 4), such as 11."""
    return p4_cnn(width=2, num_classes=3)


def p4m() -> nn.Module:
    """The same CNN on p4m (rotations and reflections): exactly invariant to every grid symmetry at 11."""
    return p4_cnn("p4m", width=2, num_classes=3)


def plain() -> nn.Module:
    """A plain CNN with random filters: its grid is exact at odd sizes, but no filter is symmetric."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)
    )


def not_a_model() -> str:
    """A builder that gives something other than a module."""
    return "a model"
