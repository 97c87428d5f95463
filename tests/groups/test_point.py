"""The point groups of the plane are eqlab groups carrying the one image action."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

from eqlab.groups import Group, act, point_group, square_grid
from eqlab.groups._image import transform_image

NAMES = ["p4", "p4m", "rot180", "hflip", "vflip"]


@pytest.mark.parametrize("name", NAMES)
def test_the_action_on_feature_maps_is_a_homomorphism(name: str) -> None:
    pg = point_group(name)
    f = torch.arange(2 * pg.order * 16).reshape(1, 2, pg.order, 4, 4)
    for a in range(pg.order):
        for b in range(pg.order):
            twice = pg.act_on_features(pg.act_on_features(f, b), a)
            assert torch.equal(twice, pg.act_on_features(f, pg.multiply(a, b)))


@pytest.mark.parametrize("name", NAMES)
def test_the_action_on_images_is_a_homomorphism(name: str) -> None:
    pg = point_group(name)
    x = torch.arange(25).reshape(5, 5)
    for a in range(pg.order):
        for b in range(pg.order):
            assert torch.equal(
                pg.act_on_image(pg.act_on_image(x, b), a), pg.act_on_image(x, pg.multiply(a, b))
            )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("p4", lambda x: torch.rot90(x, 1, dims=(-2, -1))),
        ("p4m", lambda x: torch.rot90(x, 1, dims=(-2, -1))),
        ("rot180", lambda x: torch.rot90(x, 2, dims=(-2, -1))),
        ("hflip", lambda x: torch.flip(x, dims=(-1,))),
        ("vflip", lambda x: torch.flip(x, dims=(-2,))),
    ],
)
def test_the_first_generator_acts_as_its_name_says(name: str, expected) -> None:  # type: ignore[no-untyped-def]
    x = torch.arange(12).reshape(3, 4)
    assert torch.equal(point_group(name).act_on_image(x, 1), expected(x))


def test_the_p4m_reflection_is_the_left_right_flip() -> None:
    x = torch.arange(12).reshape(3, 4)
    assert torch.equal(point_group("p4m").act_on_image(x, 4), torch.flip(x, dims=(-1,)))


def test_in_p4m_m_r_is_r_inverse_m() -> None:
    pg = point_group("p4m")
    assert pg.multiply(4, 1) == pg.multiply(3, 4)


@pytest.mark.parametrize("name", NAMES)
def test_a_point_group_is_a_group_of_its_order(name: str) -> None:
    pg = point_group(name)
    assert isinstance(pg, Group)
    assert Group(*pg.generators).order == pg.order == len(pg.elements())


@pytest.mark.parametrize("name", NAMES)
def test_its_action_on_the_group_axis_is_acting_on_feature_maps_without_space(name: str) -> None:
    pg = point_group(name)
    f = torch.arange(3 * pg.order).reshape(3, pg.order, 1, 1)
    for a in range(pg.order):
        permutation = pg.table[a].numpy()  # h -> a h, in the convention x_new[p] = x
        assert torch.equal(act(permutation, f, dim=-3), pg.act_on_features(f, a))


@pytest.mark.parametrize("name", NAMES)
def test_its_generators_are_left_multiplications_by_its_generator_elements(name: str) -> None:
    pg = point_group(name)
    for j, generator in enumerate(pg.generators[0]):
        assert np.array_equal(generator, pg.table[pg.generator_elements[j]].numpy())


@pytest.mark.parametrize("name", NAMES)
def test_on_grid_permutes_pixels_as_the_image_action_moves_them(name: str) -> None:
    pg = point_group(name)
    grid = pg.on_grid(4, 4)
    x = torch.arange(16).reshape(4, 4)
    for j, generator in enumerate(grid.generators[0]):
        moved = pg.act_on_image(x, pg.generator_elements[j])
        assert torch.equal(act(generator, x.flatten()), moved.flatten())


@pytest.mark.parametrize("name", NAMES)
def test_on_a_grid_it_keeps_its_order(name: str) -> None:
    assert point_group(name).on_grid(4, 4).order == point_group(name).order


@pytest.mark.parametrize(("reflections", "name"), [(False, "p4"), (True, "p4m")])
def test_square_grid_is_p4_or_p4m_on_a_grid(reflections: bool, name: str) -> None:
    assert np.array_equal(
        square_grid(5, reflections).generators[0], point_group(name).on_grid(5, 5).generators[0]
    )


def test_a_quarter_turn_needs_a_square_grid() -> None:
    with pytest.raises(ValueError, match="square"):
        point_group("p4").on_grid(3, 4)


def test_a_flip_acts_on_a_non_square_grid() -> None:
    assert point_group("vflip").on_grid(3, 4).order == 2


@pytest.mark.parametrize(("alias", "name"), [("rot90", "p4"), ("d4", "p4m")])
def test_an_alias_gives_the_shared_instance(alias: str, name: str) -> None:
    assert point_group(alias) is point_group(name)


def test_a_point_group_is_its_own_name() -> None:
    assert point_group(point_group("hflip")) is point_group("hflip")


def test_a_copy_is_the_shared_instance() -> None:
    assert copy.deepcopy(point_group("p4m")) is point_group("p4m")


def test_unpickling_gives_the_shared_instance() -> None:
    assert pickle.loads(pickle.dumps(point_group("vflip"))) is point_group("vflip")


@pytest.mark.parametrize("bad", ["p6", "P4", "", None, 4, ["p4"]])
def test_an_unknown_group_is_refused_by_name(bad: object) -> None:
    with pytest.raises((ValueError, TypeError), match="group"):
        point_group(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
def test_the_image_action_is_the_one_of_groups_image(name: str) -> None:
    pg = point_group(name)
    x = torch.arange(20).reshape(4, 5)
    for a in range(pg.order):
        assert torch.equal(pg.act_on_image(x, a), transform_image(x, pg.d4[a]))
