"""`Group` and `Action`: elements, membership, orbits, stabilisers, restriction and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given

from eqlab.groups import Action, Group, cyclic, dihedral, direct_product, symmetric
from eqlab.groups._perm import compose
from tests.strategies import groups

ENUMERABLE = 10_000
"""The largest order whose elements the property tests list (`groups` can draw S6 x S6, of order 518,400)."""


@given(groups())
def test_there_are_as_many_elements_as_the_order(group: Group) -> None:
    assume(group.order <= ENUMERABLE)
    assert len(group.elements()) == group.order


@given(groups())
def test_the_elements_are_closed_under_the_generators(group: Group) -> None:
    assume(group.order <= ENUMERABLE)
    elements = group.elements()
    keys = {e.tobytes() for e in elements}
    for g in group.union_generators:
        for e in elements[:20]:
            assert compose(g, e).tobytes() in keys


@given(groups())
def test_a_group_contains_its_elements(group: Group) -> None:
    assume(group.order <= ENUMERABLE)
    assert all(group.contains(e) for e in group.elements()[:10])


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


def test_contains_tells_elements_from_non_elements() -> None:
    c4 = cyclic(4)
    assert c4.contains([1, 2, 3, 0])
    assert not c4.contains([1, 0, 2, 3])


def test_the_in_operator_is_membership() -> None:
    assert [1, 0, 2, 3] in symmetric(4)
    assert [1, 0, 2, 3] not in cyclic(4)


def test_membership_on_several_index_sets_asks_for_the_tuple_of_all_sets() -> None:
    g = Group([[1, 2, 0]], [[1, 0, 2]])  # C3 x C2 realised as the tuples' closure: order 6
    assert g.order == 6
    assert g.contains(([1, 2, 0], [0, 1, 2]))  # (r, e) is r^4 = r applied 4 times
    assert not g.contains(([0, 2, 1], [0, 1, 2]))


def test_direct_product_acts_on_each_factor_set() -> None:
    g = direct_product(cyclic(3), symmetric(3))
    assert g.sizes == (3, 3) and g.num_generators == 3
    assert g.restrict(0).order == 3 and g.restrict(1).order == 6


def test_a_non_faithful_action_is_told_apart_by_the_other_set() -> None:
    g = Group([[1, 0, 2]], [[0, 1]])  # swaps on set 0, trivial on set 1
    assert g.order == 2 and g.restrict(1).order == 1


def test_the_trivial_group_has_one_element_the_identity() -> None:
    trivial = Group.trivial(3)
    assert trivial.order == 1 and np.array_equal(trivial.elements(), [[0, 1, 2]])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Group([[1, 0]], [[1, 0, 2], [0, 1, 2]]), "same number of generators"),
        (lambda: Group([[0, 0, 1]]), "not a permutation"),
        (lambda: Group([[1, 0], [0, 1, 2]]), "different lengths"),
        (lambda: symmetric(6).elements(limit=100), "more than limit=100"),
        (lambda: cyclic(3).orbits(1), "index_set must be in 0..0"),
        (lambda: dihedral(4).stabilizer(0, index_set=2), "index_set must be in 0..0"),
    ],
    ids=[
        "generator counts differ",
        "not a permutation",
        "lengths differ",
        "too many elements",
        "no such index set",
        "no such index set for a stabiliser",
    ],
)
def test_errors_name_the_problem(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        make()


def test_an_action_knows_its_size_and_orbits() -> None:
    action = Action.from_permutations([[1, 2, 0]])
    assert action.size == 3 and len(action.orbits()) == 1


def test_an_action_lists_its_permutations_and_generators() -> None:
    action = Action.from_permutations([[1, 2, 0]])
    assert action.permutations().shape == (3, 3)
    assert math.prod(action.generators.shape) == 3


def test_an_actions_repr_gives_its_size() -> None:
    assert "size 3" in repr(Action.from_permutations([[1, 2, 0]]))
