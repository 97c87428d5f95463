"""The one image action, `eqlab.groups._image`: D4 numbered ``k + 4 j`` = ``r^k m^j``, exact on torch
tensors and numpy arrays alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eqlab.groups._image import d4_inverse, d4_multiply, flip_width, rotate90, transform_image

ELEMENTS = range(8)


@pytest.mark.parametrize("k", range(4))
def test_elements_0_to_3_are_quarter_turns_as_torch_rot90(k: int) -> None:
    x = torch.arange(12).reshape(3, 4)
    assert torch.equal(transform_image(x, k), torch.rot90(x, k, dims=(-2, -1)))


def test_element_4_is_the_left_right_flip() -> None:
    x = torch.arange(12).reshape(3, 4)
    assert torch.equal(transform_image(x, 4), torch.flip(x, dims=(-1,)))


def test_element_6_is_the_up_down_flip() -> None:
    x = torch.arange(12).reshape(3, 4)
    assert torch.equal(transform_image(x, 6), torch.flip(x, dims=(-2,)))


def test_an_element_flips_first_then_rotates() -> None:
    x = torch.arange(12).reshape(3, 4)
    assert torch.equal(transform_image(x, 5), rotate90(flip_width(x), 1))


@pytest.mark.parametrize("element", ELEMENTS)
def test_numpy_arrays_move_as_torch_tensors_do(element: int) -> None:
    x = np.arange(24).reshape(2, 3, 4)
    assert np.array_equal(transform_image(x, element), transform_image(torch.from_numpy(x), element).numpy())


@pytest.mark.parametrize("a", ELEMENTS)
def test_the_product_is_acting_by_b_then_by_a(a: int) -> None:
    x = torch.arange(25).reshape(5, 5)
    for b in ELEMENTS:
        assert torch.equal(transform_image(transform_image(x, b), a), transform_image(x, d4_multiply(a, b)))


@pytest.mark.parametrize("a", ELEMENTS)
def test_the_inverse_undoes_the_element(a: int) -> None:
    x = torch.arange(25).reshape(5, 5)
    assert torch.equal(transform_image(transform_image(x, a), d4_inverse(a)), x)


@pytest.mark.parametrize("a", ELEMENTS)
def test_an_element_times_its_inverse_is_the_identity(a: int) -> None:
    assert d4_multiply(a, d4_inverse(a)) == 0


def test_a_reflection_reverses_a_rotation() -> None:
    assert d4_multiply(4, 1) == d4_multiply(3, 4)  # m r = r^-1 m
