"""The actions of a point group's elements as callables, for `eqlab.testing`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch

from eqlab.groups import PointGroup

Action = Callable[[torch.Tensor], torch.Tensor]


def on_images(pg: PointGroup, elements: Sequence[int]) -> list[Action]:
    """``x -> T_a x`` on images ``(..., H, W)``, one callable per element ``a``."""
    return [partial(pg.act_on_image, a=a) for a in elements]


def on_features(pg: PointGroup, elements: Sequence[int]) -> list[Action]:
    """``f -> a . f`` on group feature maps ``(..., |G|, H, W)``, one callable per element ``a``."""
    return [partial(pg.act_on_features, a=a) for a in elements]
