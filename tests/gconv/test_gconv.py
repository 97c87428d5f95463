"""p4/p4m group convolutions: conventions, equivariance to machine precision, a slow reference,
export, the eval-mode cache, pooling and batch norm."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from eqlab.groups import point_group
from eqlab.nn import (
    GroupAvgPool2d,
    GroupBatchNorm2d,
    GroupConv2d,
    GroupMaxPool2d,
    GroupPool,
    LiftingConv2d,
)

GROUPS = ["p4", "p4m", "rot180", "hflip", "vflip"]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().norm() / b.detach().norm())


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


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation"), [(3, 1, 1, 1), (4, 2, 1, 1), (5, 2, 2, 2)]
)
def test_layers_equal_the_sum_over_group_elements(
    group: str, kernel: int, stride: int, padding: int, dilation: int
) -> None:
    lift = LiftingConv2d(
        2, 3, kernel, group=group, stride=stride, padding=padding, dilation=dilation
    ).double()
    conv = GroupConv2d(3, 2, kernel, group=group, stride=stride, padding=padding, dilation=dilation).double()
    x = torch.randn(2, 2, 13, 13, dtype=torch.float64)
    lifted = lift(x)
    assert rel(lifted, reference_lifting(lift, x)) < 1e-13
    assert rel(conv(lifted), reference_group_conv(conv, lifted)) < 1e-13


@given(
    st.sampled_from(GROUPS),
    st.sampled_from([1, 2, 3, 4, 5]),
    st.integers(0, 2),
    st.integers(1, 2),
    st.integers(7, 15),
)
def test_exact_configurations_are_equivariant_to_machine_precision(
    group: str, kernel: int, padding: int, stride: int, size: int
) -> None:
    lifted_size = (size + 2 * padding - kernel) // stride + 1
    if (
        (size + 2 * padding - kernel) % stride
        or size + 2 * padding < kernel
        or lifted_size + 2 * padding < kernel
    ):
        return  # an inexact grid (the exactness analyser's business) or too small for the second layer
    lift = LiftingConv2d(2, 3, kernel, group=group, stride=stride, padding=padding).double()
    conv = GroupConv2d(3, 2, kernel, group=group, padding=padding).double()
    pool = GroupPool("max")
    pg = point_group(group)
    x = torch.randn(2, 2, size, size, dtype=torch.float64)
    features = conv(lift(x))
    for a in range(1, pg.order):
        assert rel(conv(lift(pg.act_on_image(x, a))), pg.act_on_features(features, a)) < 1e-12
        assert rel(pool(conv(lift(pg.act_on_image(x, a)))), pg.act_on_image(pool(features), a)) < 1e-12


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


def test_to_conv2d_computes_the_same_function() -> None:
    conv = GroupConv2d(3, 4, 3, group="p4m", stride=2, padding=1, dilation=1).double()
    f = torch.randn(2, 3, 8, 9, 9, dtype=torch.float64)
    plain = conv.to_conv2d()
    assert isinstance(plain, torch.nn.Conv2d) and plain.in_channels == 24 and plain.out_channels == 32
    torch.testing.assert_close(plain(f.flatten(1, 2)).unflatten(1, (4, 8)), conv(f), rtol=1e-13, atol=1e-13)
    lift = LiftingConv2d(3, 4, 5, group="p4", padding=2).double()
    x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
    torch.testing.assert_close(lift.to_conv2d()(x).unflatten(1, (4, 4)), lift(x), rtol=1e-13, atol=1e-13)


def test_eval_cache_is_used_and_invalidated() -> None:
    conv = GroupConv2d(2, 2, 3, group="p4", padding=1).eval()
    f = torch.randn(1, 2, 4, 6, 6)
    with torch.no_grad():
        first = conv(f)
        bank = conv.filter_bank()[0]
        assert conv.filter_bank()[0] is bank  # cached
        conv.weight.mul_(2)  # in-place change bumps the version
        assert conv.filter_bank()[0] is not bank
        bias = conv.bias[None, :, None, None, None]
        torch.testing.assert_close(conv(f) - bias, 2 * (first - bias))  # the new weights are used
        state = {k: v.clone() for k, v in conv.state_dict().items()}
        state["weight"].zero_()
        cached = conv.filter_bank()[0]
        conv.load_state_dict(state)
        assert conv.filter_bank()[0] is not cached and float(conv.filter_bank()[0].abs().sum()) == 0.0
        conv.double()
        assert conv.filter_bank()[0].dtype == torch.float64
    conv.train()
    assert conv.filter_bank()[0].requires_grad  # training never uses the cache


@pytest.mark.parametrize("group", GROUPS)
def test_pooling_and_batch_norm_commute_with_the_group(group: str) -> None:
    pg = point_group(group)
    f = torch.randn(3, 2, pg.order, 8, 8, dtype=torch.float64)
    layers = [GroupMaxPool2d(2), GroupAvgPool2d(2), GroupBatchNorm2d(2).double()]
    for layer in layers:
        for a in range(pg.order):
            assert rel(layer(pg.act_on_features(f, a)), pg.act_on_features(layer(f), a)) < 1e-12
    for reduce in ("max", "mean"):
        pool = GroupPool(reduce)
        for a in range(pg.order):
            assert rel(pool(pg.act_on_features(f, a)), pg.act_on_image(pool(f), a)) < 1e-12


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="group must be one of"):
        GroupConv2d(1, 1, 3, group="p6")
    with pytest.raises(ValueError, match=r"expects \(B, 2, 4, H, W\)"):
        GroupConv2d(2, 1, 3)(torch.randn(1, 2, 8, 5, 5))
    with pytest.raises(ValueError, match=r"expects \(B, 3, H, W\)"):
        LiftingConv2d(3, 1, 3)(torch.randn(1, 2, 5, 5))
    with pytest.raises(ValueError, match="padding_mode"):
        LiftingConv2d(3, 1, 3, padding_mode="reflect")


def _permutation_of(transform, shape: tuple[int, ...]):  # type: ignore[no-untyped-def]
    """The permutation (eqlab convention) that ``transform`` performs on a tensor of ``shape``."""
    from eqlab.groups._perm import inverse

    moved = transform(torch.arange(int(torch.tensor(shape).prod())).reshape(shape))
    return inverse(moved.flatten().numpy())


def _tying(values: torch.Tensor, colours) -> None:  # type: ignore[no-untyped-def]
    """On the support of ``values`` (distinct free-parameter ids, 0 = no connection), equal values
    must be exactly the entries of equal colour, and the support must be a union of colour classes."""
    import numpy as np

    support = values.numpy() != 0
    ids, cols = values.numpy()[support].astype(int), colours[support]
    assert all(len(set(cols[ids == v])) == 1 for v in np.unique(ids))
    assert all(len(set(ids[cols == c])) == 1 for c in np.unique(cols))
    assert not np.isin(colours[~support], np.unique(cols)).any()


@pytest.mark.parametrize("group", GROUPS)
def test_filter_banks_tie_the_same_weights_as_parameter_sharing_on_a_torus(group: str) -> None:
    import numpy as np

    from eqlab.groups import Group
    from eqlab.sharing._pattern import dense_pattern

    n, k = 5, 3
    pg = point_group(group)
    shifts = [lambda f: torch.roll(f, 1, -1), lambda f: torch.roll(f, 1, -2)]
    on_pixels = [*pg.on_grid(n, n).generators[0], *(_permutation_of(s, (n, n)) for s in shifts)]
    pixels = Group(np.stack(on_pixels))  # the point group and the translations of an n x n torus
    spatial = [lambda f, a=a: pg.act_on_features(f, a) for a in pg.generator_elements] + shifts
    on_features = [_permutation_of(t, (pg.order, n, n)) for t in spatial]
    feature_action = Group(on_features).action()

    lift = LiftingConv2d(1, 1, k, group=group, padding=1, bias=False, padding_mode="circular").double()
    conv = GroupConv2d(1, 1, k, group=group, padding=1, bias=False, padding_mode="circular").double()
    with torch.no_grad():  # distinct ids 1..P identify the free parameter behind every matrix entry
        lift.weight.copy_(torch.arange(1.0, lift.weight.numel() + 1).view_as(lift.weight))
        conv.weight.copy_(torch.arange(1.0, conv.weight.numel() + 1).view_as(conv.weight))
        lift_matrix = lift(torch.eye(n * n, dtype=torch.float64).view(-1, 1, n, n)).reshape(n * n, -1).T
        basis = torch.eye(pg.order * n * n, dtype=torch.float64).view(-1, 1, pg.order, n, n)
        conv_matrix = conv(basis).reshape(pg.order * n * n, -1).T
    _tying(lift_matrix, dense_pattern(pixels.generators[0], feature_action.generators).weight_colours)
    _tying(conv_matrix, dense_pattern(feature_action.generators, feature_action.generators).weight_colours)
