"""Lifting and group convolutions on the point groups: a slow reference, equivariance to machine
precision, exact equality on integers, export to conv2d, the eval-mode cache, the weights tied as by
parameter sharing, and the group argument."""

from __future__ import annotations

import copy
from typing import TypeVar

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import nn

from eqlab.groups import Group, PointGroup, point_group
from eqlab.groups._perm import inverse
from eqlab.nn import GroupConv2d, GroupPool, LiftingConv2d
from eqlab.sharing._pattern import dense_pattern
from eqlab.testing import equivariance_error, relative_error
from tests.gconv.actions import on_features, on_images

GROUPS = ["p4", "p4m", "rot180", "hflip", "vflip"]
GEOMETRIES = [(3, 1, 1, 1), (4, 2, 1, 1), (5, 2, 2, 2)]  # kernel, stride, padding, dilation


def reference_lifting(layer: LiftingConv2d, x: torch.Tensor) -> torch.Tensor:
    """out[g] = corr(x, T_g psi), one conv2d per group element."""
    pg, psi = layer.group, layer.weight[:, :, 0]
    outs = [
        F.conv2d(x, pg.act_on_image(psi, g), layer.bias, layer.stride, layer.padding, layer.dilation)
        for g in range(pg.order)
    ]
    return torch.stack(outs, dim=2)


def reference_group_conv(layer: GroupConv2d, f: torch.Tensor) -> torch.Tensor:
    """out[g] = sum_h corr(f[h], T_g psi[g^-1 h]), a sum over group elements."""
    pg, psi = layer.group, layer.weight
    outs = []
    for g in range(pg.order):
        total = None
        for h in range(pg.order):
            kernel = pg.act_on_image(psi[:, :, pg.multiply(pg.inverse(g), h)], g)
            term = F.conv2d(f[:, :, h], kernel, None, layer.stride, layer.padding, layer.dilation)
            total = term if total is None else total + term
        assert total is not None
        outs.append(total if layer.bias is None else total + layer.bias[:, None, None])
    return torch.stack(outs, dim=2)


# ------------------------------------------------------------------ the slow reference


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation"), GEOMETRIES)
@pytest.mark.parametrize("group", GROUPS)
def test_lifting_equals_its_sum_over_group_elements(
    group: str, kernel: int, stride: int, padding: int, dilation: int
) -> None:
    lift = LiftingConv2d(2, 3, kernel, group=group, stride=stride, padding=padding, dilation=dilation)
    lift = lift.double()
    x = torch.randn(2, 2, 13, 13, dtype=torch.float64)
    assert relative_error(lift(x), reference_lifting(lift, x)) < 1e-13


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation"), GEOMETRIES)
@pytest.mark.parametrize("group", GROUPS)
def test_group_conv_equals_its_sum_over_group_elements(
    group: str, kernel: int, stride: int, padding: int, dilation: int
) -> None:
    lift = LiftingConv2d(2, 3, kernel, group=group, stride=stride, padding=padding, dilation=dilation)
    conv = GroupConv2d(3, 2, kernel, group=group, stride=stride, padding=padding, dilation=dilation)
    lift, conv = lift.double(), conv.double()
    lifted = lift(torch.randn(2, 2, 13, 13, dtype=torch.float64))
    assert relative_error(conv(lifted), reference_group_conv(conv, lifted)) < 1e-13


# ------------------------------------------------------------------ equivariance


_EXACT_CONFIGURATIONS = st.tuples(
    st.sampled_from(GROUPS),
    st.sampled_from([1, 2, 3, 4, 5]),  # kernel
    st.integers(0, 2),  # padding
    st.integers(1, 2),  # stride of the lifting layer
    st.integers(7, 15),  # image size
)


def _exact_stack(configuration: tuple[str, int, int, int, int]) -> tuple[nn.Module, PointGroup, torch.Tensor]:
    """A lifting and a group convolution on a grid their strides map onto itself, and a batch of images."""
    group, kernel, padding, stride, size = configuration
    lifted_size = (size + 2 * padding - kernel) // stride + 1
    assume(size + 2 * padding >= kernel and (size + 2 * padding - kernel) % stride == 0)  # an exact grid
    assume(lifted_size + 2 * padding >= kernel)  # room for the second layer
    lift = LiftingConv2d(2, 3, kernel, group=group, stride=stride, padding=padding)
    conv = GroupConv2d(3, 2, kernel, group=group, padding=padding)
    x = torch.randn(2, 2, size, size, dtype=torch.float64)
    return nn.Sequential(lift, conv).double(), point_group(group), x


@given(_EXACT_CONFIGURATIONS)
def test_exact_configurations_are_equivariant_to_machine_precision(
    configuration: tuple[str, int, int, int, int],
) -> None:
    stack, pg, x = _exact_stack(configuration)
    elements = range(1, pg.order)
    assert equivariance_error(stack, x, on_images(pg, elements), on_features(pg, elements)) < 1e-12


@given(_EXACT_CONFIGURATIONS)
def test_exact_configurations_pooled_over_the_group_are_equivariant_on_images(
    configuration: tuple[str, int, int, int, int],
) -> None:
    stack, pg, x = _exact_stack(configuration)
    pooled = nn.Sequential(stack, GroupPool("max"))
    elements = range(1, pg.order)
    assert equivariance_error(pooled, x, on_images(pg, elements), on_images(pg, elements)) < 1e-12


@pytest.mark.parametrize("group", GROUPS)
def test_exact_equality_on_integer_inputs_and_filters(group: str) -> None:
    pg = point_group(group)
    lift = LiftingConv2d(1, 2, 3, group=group, stride=2, padding=1).double()
    conv = GroupConv2d(2, 2, 3, group=group, padding=1).double()
    with torch.no_grad():
        for p in (*lift.parameters(), *conv.parameters()):
            p.copy_(torch.randint(-3, 4, p.shape))
    x = torch.randint(-5, 6, (2, 1, 11, 11)).double()
    for a in range(pg.order):
        assert torch.equal(conv(lift(pg.act_on_image(x, a))), pg.act_on_features(conv(lift(x)), a))


# ------------------------------------------------------------------ export


def test_group_conv_to_conv2d_computes_the_same_function() -> None:
    conv = GroupConv2d(3, 4, 3, group="p4m", stride=2, padding=1, dilation=1).double()
    f = torch.randn(2, 3, 8, 9, 9, dtype=torch.float64)
    plain = conv.to_conv2d()
    assert isinstance(plain, torch.nn.Conv2d) and plain.in_channels == 24 and plain.out_channels == 32
    torch.testing.assert_close(plain(f.flatten(1, 2)).unflatten(1, (4, 8)), conv(f), rtol=1e-13, atol=1e-13)


def test_lifting_to_conv2d_computes_the_same_function() -> None:
    lift = LiftingConv2d(3, 4, 5, group="p4", padding=2).double()
    x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
    torch.testing.assert_close(lift.to_conv2d()(x).unflatten(1, (4, 4)), lift(x), rtol=1e-13, atol=1e-13)


# ------------------------------------------------------------------ the eval-mode cache


def _eval_conv() -> GroupConv2d:
    return GroupConv2d(2, 2, 3, group="p4", padding=1).eval()


def test_eval_mode_caches_the_filter_bank() -> None:
    conv = _eval_conv()
    with torch.no_grad():
        bank = conv.filter_bank()[0]
        assert conv.filter_bank()[0] is bank


def test_an_in_place_weight_change_invalidates_the_cache() -> None:
    conv = _eval_conv()
    with torch.no_grad():
        bank = conv.filter_bank()[0]
        conv.weight.mul_(2)  # in-place change bumps the version
        assert conv.filter_bank()[0] is not bank


def test_the_forward_pass_uses_the_changed_weights() -> None:
    conv = _eval_conv()
    f = torch.randn(1, 2, 4, 6, 6)
    with torch.no_grad():
        first = conv(f)
        conv.weight.mul_(2)
        assert conv.bias is not None
        bias = conv.bias[None, :, None, None, None]
        torch.testing.assert_close(conv(f) - bias, 2 * (first - bias))


def test_loading_a_state_dict_invalidates_the_cache() -> None:
    conv = _eval_conv()
    with torch.no_grad():
        state = {k: v.clone() for k, v in conv.state_dict().items()}
        state["weight"].zero_()
        cached = conv.filter_bank()[0]
        conv.load_state_dict(state)
        assert conv.filter_bank()[0] is not cached and float(conv.filter_bank()[0].abs().sum()) == 0.0


def test_a_dtype_change_invalidates_the_cache() -> None:
    conv = _eval_conv()
    with torch.no_grad():
        conv.filter_bank()
        conv.double()
        assert conv.filter_bank()[0].dtype == torch.float64


def test_training_never_uses_the_cache() -> None:
    conv = _eval_conv()
    with torch.no_grad():
        conv.filter_bank()
    conv.train()
    assert conv.filter_bank()[0].requires_grad


def test_a_write_through_data_invalidates_the_cache() -> None:
    # EMA/SWA-style updates write through .data, which no version counter sees
    conv = _eval_conv()
    f = torch.randn(1, 2, 4, 6, 6, dtype=torch.float32)
    with torch.no_grad():
        first = conv(f)
        conv.weight.data.mul_(2)
        assert conv.bias is not None
        bias = conv.bias[None, :, None, None, None]
        torch.testing.assert_close(conv(f) - bias, 2 * (first - bias))


def test_a_trainable_bias_with_a_frozen_weight_keeps_its_gradient_in_eval_mode() -> None:
    conv = _eval_conv()
    conv.weight.requires_grad_(False)
    conv(torch.randn(1, 2, 4, 6, 6)).sum().backward()
    assert conv.bias is not None and conv.bias.grad is not None
    assert float(conv.bias.grad.abs().sum()) > 0


def test_a_bank_made_in_inference_mode_does_not_block_a_later_input_gradient() -> None:
    conv = _eval_conv().requires_grad_(False)
    with torch.inference_mode():
        conv(torch.randn(1, 2, 4, 6, 6))
    x = torch.randn(1, 2, 4, 6, 6, requires_grad=True)
    conv(x).sum().backward()
    assert x.grad is not None


def test_torch_func_runs_through_an_eval_mode_layer() -> None:
    conv = _eval_conv().double()
    params = dict(conv.named_parameters())
    x = torch.randn(3, 2, 4, 6, 6, dtype=torch.float64)

    def f(p: dict[str, torch.Tensor], xi: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(conv, p, (xi[None],)).sum()

    with torch.no_grad():
        per_sample = torch.func.vmap(torch.func.grad(f), in_dims=(None, 0))(params, x)
    # the gradient in the bias of a sum is the number of outputs per output channel (|G| 4 x 4 positions)
    torch.testing.assert_close(per_sample["bias"], torch.full((3, 2), 4.0 * 6 * 6, dtype=torch.float64))


# ------------------------------------------------------------------ weights tied as by parameter sharing


def _permutation_of(transform, shape: tuple[int, ...]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The permutation (eqlab convention) that ``transform`` performs on a tensor of ``shape``."""
    moved = transform(torch.arange(int(torch.tensor(shape).prod())).reshape(shape))
    return inverse(moved.flatten().numpy())


def _tying(values: torch.Tensor, colours: np.ndarray) -> None:
    """On the support of ``values`` (distinct free-parameter ids, 0 = no connection), equal values
    must be exactly the entries of equal colour, and the support must be a union of colour classes."""
    support = values.numpy() != 0
    ids, cols = values.numpy()[support].astype(int), colours[support]
    assert all(len(set(cols[ids == v])) == 1 for v in np.unique(ids))
    assert all(len(set(ids[cols == c])) == 1 for c in np.unique(cols))
    assert not np.isin(colours[~support], np.unique(cols)).any()


N, K = 5, 3  # the torus and the kernel
_Layer = TypeVar("_Layer", LiftingConv2d, GroupConv2d)


def _torus_actions(pg: PointGroup) -> tuple[Group, Group]:
    """The point group and the translations of an N x N torus, on its pixels and on its feature maps."""
    shifts = [lambda f: torch.roll(f, 1, -1), lambda f: torch.roll(f, 1, -2)]
    on_pixels = [*pg.on_grid(N, N).generators[0], *(_permutation_of(s, (N, N)) for s in shifts)]
    spatial = [lambda f, a=a: pg.act_on_features(f, a) for a in pg.generator_elements] + shifts
    on_feature_maps = [_permutation_of(t, (pg.order, N, N)) for t in spatial]
    return Group(np.stack(on_pixels)), Group(on_feature_maps)


def _numbered(layer: _Layer) -> _Layer:
    """``layer`` in float64 with the distinct ids 1..P as weights, so that each entry of its matrix names
    the parameter behind it."""
    layer = layer.double()
    with torch.no_grad():
        layer.weight.copy_(torch.arange(1.0, layer.weight.numel() + 1).view_as(layer.weight))
    return layer


@pytest.mark.parametrize("group", GROUPS)
def test_lifting_ties_the_weights_that_parameter_sharing_on_a_torus_ties(group: str) -> None:
    pg = point_group(group)
    pixels, features = _torus_actions(pg)
    lift = _numbered(LiftingConv2d(1, 1, K, group=group, padding=1, bias=False, padding_mode="circular"))
    with torch.no_grad():
        matrix = lift(torch.eye(N * N, dtype=torch.float64).view(-1, 1, N, N)).reshape(N * N, -1).T
    _tying(matrix, dense_pattern(pixels.generators[0], features.action().generators).weight_colours)


@pytest.mark.parametrize("group", GROUPS)
def test_group_conv_ties_the_weights_that_parameter_sharing_on_a_torus_ties(group: str) -> None:
    pg = point_group(group)
    _, features = _torus_actions(pg)
    conv = _numbered(GroupConv2d(1, 1, K, group=group, padding=1, bias=False, padding_mode="circular"))
    with torch.no_grad():
        basis = torch.eye(pg.order * N * N, dtype=torch.float64).view(-1, 1, pg.order, N, N)
        matrix = conv(basis).reshape(pg.order * N * N, -1).T
    generators = features.action().generators
    _tying(matrix, dense_pattern(generators, generators).weight_colours)


# ------------------------------------------------------------------ the group argument


def test_a_layer_takes_the_group_or_its_name() -> None:
    by_name, by_object = GroupConv2d(2, 3, 3, group="p4m"), GroupConv2d(2, 3, 3, group=point_group("p4m"))
    assert by_name.group is by_object.group is point_group("p4m")


def test_a_layer_keeps_one_group_attribute() -> None:
    assert not hasattr(GroupConv2d(2, 3, 3, group="p4m"), "pg")


def test_a_copied_layer_keeps_a_point_group() -> None:
    assert isinstance(copy.deepcopy(LiftingConv2d(1, 2, 3, group="hflip")).group, PointGroup)


# ------------------------------------------------------------------ errors


def test_an_unknown_group_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="group must be one of"):
        GroupConv2d(1, 1, 3, group="p6")


def test_group_conv_names_the_input_shape_it_expects() -> None:
    with pytest.raises(ValueError, match=r"expects \(B, 2, 4, H, W\)"):
        GroupConv2d(2, 1, 3)(torch.randn(1, 2, 8, 5, 5))


def test_lifting_names_the_input_shape_it_expects() -> None:
    with pytest.raises(ValueError, match=r"expects \(B, 3, H, W\)"):
        LiftingConv2d(3, 1, 3)(torch.randn(1, 2, 5, 5))


def test_an_unsupported_padding_mode_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="padding_mode"):
        LiftingConv2d(3, 1, 3, padding_mode="reflect")
