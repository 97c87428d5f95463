"""Interpolation barriers along the linear path."""

from __future__ import annotations

import pytest
import torch

from eqlab.layerwise import interpolation_barrier
from tests.layerwise.nets import generic, images, vgg


def test_the_barrier_between_a_network_and_itself_is_zero() -> None:
    model = generic(vgg())
    x, y = images(32), torch.randint(0, 5, (32,), generator=torch.Generator().manual_seed(0))
    curve = interpolation_barrier(model, model, (x, y), alphas=5)
    assert len(curve.loss) == 5 and abs(curve.loss_barrier) < 1e-12 and abs(curve.accuracy_barrier) < 1e-12


def test_the_barrier_is_the_largest_rise_above_the_straight_line() -> None:
    a, b = generic(vgg(), 0), generic(vgg(), 1)
    x, y = images(32), torch.randint(0, 5, (32,), generator=torch.Generator().manual_seed(0))
    curve = interpolation_barrier(a, b, (x, y), alphas=[0.0, 0.5, 1.0])
    line = (curve.loss[0] + curve.loss[2]) / 2
    assert curve.loss_barrier == pytest.approx(max(0.0, curve.loss[1] - line), abs=1e-12)
