"""Representations: matrices of a group, their elements and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from eqlab.groups import Representation, symmetric


def test_a_singular_generator_is_refused() -> None:
    with pytest.raises(ValueError, match="singular"):
        Representation([[[1.0, 0.0], [0.0, 0.0]]])


def test_a_rotation_by_an_irrational_angle_has_more_elements_than_any_limit() -> None:
    with pytest.raises(ValueError, match="more than limit=100"):
        Representation.rotation(1, degrees=360 / np.sqrt(2)).elements(limit=100)


def test_elements_of_an_ill_conditioned_representation_are_not_split_by_rounding() -> None:
    perms = np.asarray(Representation.from_permutations(symmetric(4).action()).generators)
    a = np.diag([1e3, 1.0, 1e-3, 7.0]) @ np.random.default_rng(0).standard_normal((4, 4))
    conjugated = Representation(a @ perms @ np.linalg.inv(a))
    assert len(conjugated.elements()) == 24  # the rounded keys alone found more
