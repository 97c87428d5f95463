"""`is_group_layer` tells eqlab's layers on group feature maps from everything else."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from eqlab.groups import Representation
from eqlab.nn import (
    GroupAvgPool2d,
    GroupBatchNorm2d,
    GroupConv2d,
    GroupMaxPool2d,
    GroupPool,
    LiftingConv2d,
    RepLinear,
    is_group_layer,
)


@pytest.mark.parametrize(
    "layer",
    [
        LiftingConv2d(1, 2, 3),
        GroupConv2d(2, 2, 3, group="p4m"),
        GroupMaxPool2d(2),
        GroupAvgPool2d(2),
        GroupPool(),
        GroupBatchNorm2d(2),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_every_group_layer_is_one(layer: nn.Module) -> None:
    assert is_group_layer(layer)


@pytest.mark.parametrize(
    "other",
    [
        nn.Conv2d(2, 2, 3),
        nn.Sequential(GroupConv2d(2, 2, 3)),
        RepLinear(Representation.rotation(4), Representation.rotation(4)),
        GroupConv2d,
        "GroupConv2d",
        None,
        torch.zeros(1),
    ],
    ids=["Conv2d", "a Sequential holding one", "RepLinear", "the class", "its name", "None", "a tensor"],
)
def test_anything_else_is_not(other: object) -> None:
    assert not is_group_layer(other)
