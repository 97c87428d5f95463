"""The public testing helpers catch what they should."""

from __future__ import annotations

import pytest
import torch

from eqlab.testing import assert_equivariant, equivariance_error


def test_detects_a_non_equivariant_map() -> None:
    weight = torch.randn(4, 4, dtype=torch.float64)
    shift = [1, 2, 3, 0]
    assert equivariance_error(lambda x: x @ weight.T, torch.randn(3, 4), shift, shift) > 1e-3
    with pytest.raises(AssertionError, match="not equivariant: relative error"):
        assert_equivariant(lambda x: x @ weight.T, torch.randn(3, 4), shift, shift)


def test_callable_actions_serve_rotations() -> None:
    def rot(x: torch.Tensor) -> torch.Tensor:
        return torch.rot90(x, 1, dims=(-2, -1))

    assert equivariance_error(torch.relu, torch.randn(2, 5, 5), rot, rot) == 0.0
    mask = torch.rand(5, 5)
    assert equivariance_error(lambda x: x * mask, torch.randn(2, 5, 5), rot, rot) > 0.1


def test_modules_are_measured_in_float64_without_touching_the_original() -> None:
    layer = torch.nn.Linear(3, 3)
    identity = [0, 1, 2]
    assert equivariance_error(layer, torch.randn(2, 3), identity, identity) == 0.0
    assert layer.weight.dtype == torch.float32


def test_mismatched_element_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="in_action has 2 elements but out_action has 1"):
        equivariance_error(torch.relu, torch.randn(3), [[1, 0, 2], [0, 1, 2]], [[1, 0, 2]])
