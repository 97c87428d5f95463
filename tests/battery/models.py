"""Small models that the CLI cases of the battery load as ``tests.battery.models:NAME``."""

from __future__ import annotations

from torch import nn


def cnn() -> nn.Module:
    """A small plain CNN that is exact at odd sizes (one stride-2 3x3 convolution with padding 1)."""
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 3, stride=2, padding=1))


def mlp() -> nn.Module:
    """A model without convolutions: nothing in it tells the input channels or size."""
    return nn.Sequential(nn.Flatten(), nn.Linear(81, 2))


def not_a_model() -> int:
    """A builder that returns something other than a module."""
    return 5
