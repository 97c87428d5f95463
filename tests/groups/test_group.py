"""Groups: orders, elements, membership, orbits, stabilisers, the catalogue, and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given

from eqlab.groups import (
    Action,
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
from eqlab.groups._perm import compose
from tests.strategies import groups


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
def test_catalogue_orders(group: Group, order: int) -> None:
    assert group.order == order
    elements = group.elements()
    assert elements.shape == (order, group.degree)
    assert len({e.tobytes() for e in elements}) == order
    assert np.array_equal(elements[0], np.arange(group.degree))


@given(groups())
def test_elements_are_closed_and_match_schreier_sims(group: Group) -> None:
    elements = group.elements()
    assert len(elements) == group.order
    keys = {e.tobytes() for e in elements}
    for g in group.union_generators:
        for e in elements[:20]:
            assert compose(g, e).tobytes() in keys
    assert all(group.contains(e) for e in elements[:10])


@given(groups(sets=1))
def test_orbit_stabiliser_theorem(group: Group) -> None:
    for orbit in group.orbits(0):
        stabiliser = group.stabilizer(int(orbit[0]))
        assert stabiliser.order * orbit.size == group.order
        for e in stabiliser.elements()[:20]:
            assert e[orbit[0]] == orbit[0]


@given(groups(sets=1))
def test_orbits_are_unions_of_images(group: Group) -> None:
    perms = group.action(0).permutations()
    labels = group.orbit_labels(0)
    for point in range(group.sizes[0]):
        images = set(perms[:, point].tolist())
        assert images == set(np.flatnonzero(labels == labels[point]).tolist())


def test_membership_of_non_elements() -> None:
    c4 = cyclic(4)
    assert c4.contains([1, 2, 3, 0])
    assert not c4.contains([1, 0, 2, 3])
    assert [1, 0, 2, 3] in symmetric(4)
    g = Group([[1, 2, 0]], [[1, 0, 2]])  # C3 x C2 realised as the tuples' closure: order 6
    assert g.order == 6
    assert g.contains(([1, 2, 0], [0, 1, 2]))  # (r, e) is r^4 = r applied 4 times
    assert not g.contains(([0, 2, 1], [0, 1, 2]))


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_grid_actions_match_torch_exactly(n: int) -> None:
    x = torch.arange(2 * n * n).reshape(2, n, n)
    p4m = torus(n, reflections=True)
    r, m, tx, ty = p4m.generators[0]
    flat = x.flatten(-2)
    assert torch.equal(act(r, flat), torch.rot90(x, 1, dims=(-2, -1)).flatten(-2))
    assert torch.equal(act(m, flat), torch.flip(x, dims=(-1,)).flatten(-2))
    assert torch.equal(act(tx, flat), torch.roll(x, 1, dims=-1).flatten(-2))
    assert torch.equal(act(ty, flat), torch.roll(x, 1, dims=-2).flatten(-2))
    assert torch.equal(
        act(point_group("hflip").on_grid(n, n + 1).generators[0][0], torch.arange(n * (n + 1))),
        torch.flip(torch.arange(n * (n + 1)).reshape(n, n + 1), dims=(-1,)).flatten(),
    )
    assert np.array_equal(square_grid(n).generators[0][0], r)


def test_s_n_on_pairs_is_conjugation() -> None:
    s4 = symmetric(4)
    pairs = on_tuples(s4, 2)
    x = torch.randn(4, 4, dtype=torch.float64)
    for p, q in zip(s4.elements()[:12], pairs.action().permutations()[:12], strict=True):
        mat = permutation_matrix(p)
        assert torch.equal(act(q, x.flatten()).reshape(4, 4), mat @ x @ mat.T)
    assert pairs.orbits(0)[0].tolist() == [0, 5, 10, 15]  # the diagonal is one orbit


def test_regular_action_is_free_and_transitive() -> None:
    d5 = dihedral(5)
    reg = regular(d5)
    assert reg.sizes == (10,) and reg.order == 10
    assert len(reg.orbits(0)) == 1
    assert reg.stabilizer(0).order == 1


def test_direct_product_acts_on_each_factor_set() -> None:
    g = direct_product(cyclic(3), symmetric(3))
    assert g.sizes == (3, 3) and g.num_generators == 3
    assert g.restrict(0).order == 3 and g.restrict(1).order == 6


def test_non_faithful_action_is_told_apart_by_the_other_set() -> None:
    g = Group([[1, 0, 2]], [[0, 1]])  # swaps on set 0, trivial on set 1
    assert g.order == 2 and g.restrict(1).order == 1


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="same number of generators"):
        Group([[1, 0]], [[1, 0, 2], [0, 1, 2]])
    with pytest.raises(ValueError, match="not a permutation"):
        Group([[0, 0, 1]])
    with pytest.raises(ValueError, match="different lengths"):
        Group([[1, 0], [0, 1, 2]])
    with pytest.raises(ValueError, match="more than limit=100"):
        symmetric(6).elements(limit=100)
    with pytest.raises(ValueError, match="index_set must be in 0..0"):
        cyclic(3).orbits(1)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        cyclic(0)


def test_action_helpers() -> None:
    action = Action.from_permutations([[1, 2, 0]])
    assert action.size == 3 and len(action.orbits()) == 1
    assert action.permutations().shape == (3, 3)
    assert math.prod(action.generators.shape) == 3
    assert "size 3" in repr(action)
