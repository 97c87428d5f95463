"""The action convention, defined once in eqlab.groups._perm, tested as a homomorphism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from eqlab.groups import act, permutation_matrix
from eqlab.groups._perm import as_permutation, as_permutations, compose, identity, inverse
from tests.strategies import permutations


def test_entry_i_goes_to_position_p_i() -> None:
    p = np.array([2, 0, 1])
    x = torch.tensor([10, 20, 30])
    moved = act(p, x)
    for i in range(3):
        assert moved[p[i]] == x[i]


@given(st.integers(1, 9).flatmap(lambda n: st.tuples(permutations(n), permutations(n))))
def test_act_is_a_homomorphism(pair: tuple[np.ndarray, np.ndarray]) -> None:
    g, h = pair
    x = torch.arange(3 * g.size).reshape(3, g.size)  # integer input: exact comparison
    assert torch.equal(act(h, act(g, x)), act(compose(h, g), x))


@given(st.integers(1, 9).flatmap(permutations))
def test_acting_by_the_inverse_undoes_the_action(g: np.ndarray) -> None:
    x = torch.arange(3 * g.size).reshape(3, g.size)
    assert torch.equal(act(inverse(g), act(g, x)), x)


@given(st.integers(1, 9).flatmap(permutations))
def test_a_permutation_composed_with_its_inverse_is_the_identity(g: np.ndarray) -> None:
    assert np.array_equal(compose(g, inverse(g)), identity(g.size))


@given(st.integers(1, 7).flatmap(permutations))
def test_permutation_matrix_matches_act(p: np.ndarray) -> None:
    x = torch.randn(p.size, dtype=torch.float64)
    assert torch.equal(permutation_matrix(p) @ x, act(p, x))


def test_act_on_numpy_and_other_axes() -> None:
    p = np.array([1, 2, 0])
    x = np.arange(6).reshape(3, 2)
    assert np.array_equal(act(p, x, dim=0), x[inverse(p)])


def test_compose_broadcasts_over_stacks() -> None:
    gens = np.array([[1, 2, 0], [0, 2, 1]])
    assert np.array_equal(compose(gens, gens[0]), np.stack([gens[0][gens[0]], gens[1][gens[0]]]))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([0, 0, 1], "index 0 appears 2 times"),
        ([0, 3, 1], r"entries \[3\] are outside 0..2"),
        ([[0, 1]], "1-D"),
        ([0.5, 1.0], "integers"),
    ],
)
def test_bad_permutations_are_named(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        as_permutation(value, name="p")


def test_stacks_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        as_permutations([[0, 1], [0, 1, 2]])
