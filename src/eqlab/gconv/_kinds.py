"""Which modules are eqlab's layers on group feature maps."""

from __future__ import annotations

from typing import Any

from torch import nn

from eqlab.gconv._conv import GroupConv2d, LiftingConv2d
from eqlab.gconv._pool import GroupAvgPool2d, GroupBatchNorm2d, GroupMaxPool2d, GroupPool

__all__ = ["GROUP_LAYERS", "is_group_layer"]

GROUP_LAYERS = (LiftingConv2d, GroupConv2d, GroupMaxPool2d, GroupAvgPool2d, GroupPool, GroupBatchNorm2d)
"""The classes of eqlab's layers on group feature maps."""


def is_group_layer(module: Any) -> bool:
    """Whether ``module`` is one of eqlab's group-convolution layers.

    These produce or read group feature maps ``(B, C, |G|, H, W)``: `LiftingConv2d` (image to group
    features), `GroupConv2d`, the spatial pools `GroupMaxPool2d` and `GroupAvgPool2d`, `GroupPool` (over
    the group axis) and `GroupBatchNorm2d`. The two convolutions carry their point group as ``.group``
    (an `eqlab.groups.PointGroup`).

    Parameters
    ----------
    module
        Anything; only a ``torch.nn.Module`` can be a group layer.

    Examples
    --------
    >>> import torch
    >>> from eqlab.nn import GroupConv2d
    >>> is_group_layer(GroupConv2d(2, 2, 3)), is_group_layer(torch.nn.Conv2d(2, 2, 3))
    (True, False)
    """
    return isinstance(module, nn.Module) and isinstance(module, GROUP_LAYERS)
