"""`transform_network`: the network computing ``x -> model(t(x))``, and what it refuses."""

from __future__ import annotations

import pytest
from torch import nn

from eqlab.layerwise import Transform, transform_network
from eqlab.testing import relative_error
from tests.layerwise.nets import SIZE, ResNet, generic, image_action, images, vgg


@pytest.mark.parametrize("make", [vgg, lambda: vgg(stride_head=True), ResNet])
@pytest.mark.parametrize("transform", list(Transform))
def test_the_transformed_network_computes_f_of_t_x(make: type, transform: Transform) -> None:
    model = generic(make())
    x = images(3)
    out = transform_network(model, transform, input_size=SIZE)(x)
    assert relative_error(out, model(image_action(transform)(x))) < 1e-12


def test_an_unknown_layer_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"Upsample"):
        transform_network(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample(scale_factor=2)), "hflip")


def test_an_input_size_where_the_stride_breaks_the_flip_is_refused() -> None:
    with pytest.raises(ValueError, match=r"pixels off its mirror image at input size 16"):
        transform_network(nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1)), "hflip", input_size=16)


def test_an_unknown_transform_is_refused() -> None:
    with pytest.raises(ValueError, match="transform must be one of 'hflip', 'vflip', 'rot90'"):
        transform_network(vgg(), "shear")


def test_a_linear_layer_on_the_flattened_image_is_refused() -> None:
    with pytest.raises(ValueError, match="reads the flattened input image"):
        transform_network(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)), "hflip")


def test_the_transforms_have_their_orders() -> None:
    assert [t.order for t in Transform] == [2, 2, 4] and Transform.ROT90 == "rot90"
