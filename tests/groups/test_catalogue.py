"""The catalogue of groups: orders, the grid actions against torch's own, tuples, regular actions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eqlab.groups import (
    Group,
    act,
    alternating,
    cyclic,
    dihedral,
    direct_product,
    on_tuples,
    permutation_matrix,
    point_group,
    regular,
    square_grid,
    symmetric,
    torus,
)


@pytest.mark.parametrize(
    ("group", "order"),
    [
        (cyclic(7), 7),
        (dihedral(6), 12),
        (symmetric(5), 120),
        (alternating(5), 60),
        (alternating(6), 360),
        (direct_product(cyclic(3), dihedral(4)), 24),
        (square_grid(5), 4),
        (square_grid(4, reflections=True), 8),
        (torus(5), 100),
        (torus(4, reflections=True), 128),
        (point_group("hflip").on_grid(3, 4), 2),
        (Group.trivial(3), 1),
    ],
)
def test_the_elements_of_a_catalogue_group_are_its_order_distinct_permutations_identity_first(
    group: Group, order: int
) -> None:
    assert group.order == order
    elements = group.elements()
    assert elements.shape == (order, group.degree)
    assert len({e.tobytes() for e in elements}) == order
    assert np.array_equal(elements[0], np.arange(group.degree))


@pytest.mark.parametrize(
    ("generator", "expected"),
    [
        (0, lambda x: torch.rot90(x, 1, dims=(-2, -1))),
        (1, lambda x: torch.flip(x, dims=(-1,))),
        (2, lambda x: torch.roll(x, 1, dims=-1)),
        (3, lambda x: torch.roll(x, 1, dims=-2)),
    ],
    ids=["rotation", "reflection", "shift along x", "shift along y"],
)
@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_the_torus_generators_act_as_torch_does_exactly(n: int, generator: int, expected) -> None:  # type: ignore[no-untyped-def]
    x = torch.arange(2 * n * n).reshape(2, n, n)
    permutation = torus(n, reflections=True).generators[0][generator]
    assert torch.equal(act(permutation, x.flatten(-2)), expected(x).flatten(-2))


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_a_flip_acts_on_a_non_square_grid_as_torch_flip(n: int) -> None:
    x = torch.arange(n * (n + 1))
    flip = point_group("hflip").on_grid(n, n + 1).generators[0][0]
    assert torch.equal(act(flip, x), torch.flip(x.reshape(n, n + 1), dims=(-1,)).flatten())


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_square_grid_rotates_as_the_torus_does(n: int) -> None:
    assert np.array_equal(square_grid(n).generators[0][0], torus(n, reflections=True).generators[0][0])


def test_s_n_on_pairs_is_conjugation_by_permutation_matrices() -> None:
    s4 = symmetric(4)
    pairs = on_tuples(s4, 2)
    x = torch.randn(4, 4, dtype=torch.float64)
    for p, q in zip(s4.elements()[:12], pairs.action().permutations()[:12], strict=True):
        mat = permutation_matrix(p)
        assert torch.equal(act(q, x.flatten()).reshape(4, 4), mat @ x @ mat.T)


def test_the_diagonal_is_one_orbit_of_s_n_on_pairs() -> None:
    assert on_tuples(symmetric(4), 2).orbits(0)[0].tolist() == [0, 5, 10, 15]


def test_the_regular_action_is_free_and_transitive() -> None:
    reg = regular(dihedral(5))
    assert reg.sizes == (10,) and reg.order == 10
    assert len(reg.orbits(0)) == 1
    assert reg.stabilizer(0).order == 1


def test_cyclic_refuses_an_empty_set_by_name() -> None:
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        cyclic(0)
