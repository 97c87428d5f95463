"""Permuting a model's channels: eqlab's one convention (`eqlab.groups.act`), and the same function."""

from __future__ import annotations

import pytest
import torch

from eqlab.groups import act
from eqlab.layerwise._permute import permute_model
from eqlab.layerwise._spec import derive_spec
from eqlab.testing import relative_error
from tests.layerwise.nets import ResNet, generic, images, vgg


@pytest.mark.parametrize("make", [vgg, ResNet])
def test_a_permuted_model_computes_the_same_function(make: type) -> None:
    model = generic(make())
    spec = derive_spec(model)
    perms = [torch.randperm(s.size) for s in spec.channel_sets]
    x = images(4)
    assert relative_error(permute_model(model, spec, perms)(x), model(x)) < 1e-13


def test_channel_i_moves_to_position_p_i() -> None:
    model = generic(vgg(stride_head=True))
    spec = derive_spec(model)
    perms = [torch.randperm(s.size) for s in spec.channel_sets]
    moved = permute_model(model, spec, perms)
    first, second = perms[0], perms[1]
    for i in range(first.numel()):  # entry by entry: old channel i is new channel p[i]
        assert torch.equal(moved[0].weight[first[i]], model[0].weight[i])
    expected = act(second, act(first, model[4].weight.detach(), dim=1), dim=0)
    assert torch.equal(moved[4].weight, expected)
    assert torch.equal(moved[1].running_mean, act(first, model[1].running_mean))
