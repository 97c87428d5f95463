"""Pooling and batch norm on group feature maps commute with the point group."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from eqlab.groups import point_group
from eqlab.nn import GroupAvgPool2d, GroupBatchNorm2d, GroupMaxPool2d, GroupPool
from eqlab.testing import equivariance_error
from tests.gconv.actions import on_features, on_images

GROUPS = ["p4", "p4m", "rot180", "hflip", "vflip"]

SPATIAL = {
    "max pool": lambda: GroupMaxPool2d(2),
    "average pool": lambda: GroupAvgPool2d(2),
    "batch norm": lambda: GroupBatchNorm2d(2).double(),
}


@pytest.mark.parametrize("layer", list(SPATIAL))
@pytest.mark.parametrize("group", GROUPS)
def test_spatial_pools_and_batch_norm_commute_with_the_group(group: str, layer: str) -> None:
    pg = point_group(group)
    f = torch.randn(3, 2, pg.order, 8, 8, dtype=torch.float64)
    module: nn.Module = SPATIAL[layer]()
    actions = on_features(pg, range(pg.order))
    assert equivariance_error(module, f, actions, actions) < 1e-12


@pytest.mark.parametrize("reduce", ["max", "mean"])
@pytest.mark.parametrize("group", GROUPS)
def test_pooling_over_the_group_turns_its_action_on_features_into_the_one_on_images(
    group: str, reduce: str
) -> None:
    pg = point_group(group)
    f = torch.randn(3, 2, pg.order, 8, 8, dtype=torch.float64)
    elements = range(pg.order)
    assert (
        equivariance_error(GroupPool(reduce), f, on_features(pg, elements), on_images(pg, elements)) < 1e-12
    )
