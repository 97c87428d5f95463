"""Parameter-sharing layers: counts (Burnside, SVD nullspace), equivariance, sensitivity, uniqueness."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from eqlab.groups import Group, act, alternating, cyclic, dihedral, regular, symmetric, torus
from eqlab.nn import EquivariantLinear
from eqlab.sharing import Design, symmetry_group
from eqlab.testing import equivariance_error
from tests.strategies import groups, permutations


def burnside_pair_orbits(group: Group) -> int:
    """(1/|G|) sum_g |Fix_N(g)| |Fix_M(g)|, by enumerating the group."""
    p_in, p_out = group.split(group.elements())
    fixed_in = (p_in == np.arange(group.sizes[0])).sum(axis=1)
    fixed_out = (p_out == np.arange(group.sizes[1])).sum(axis=1)
    total = int((fixed_in * fixed_out).sum())
    assert total % group.order == 0
    return total // group.order


def nullspace_dimension(group: Group) -> int:
    """Dimension of {W : P_out W P_in^T = W for every generator}, by SVD of the stacked constraint."""
    n_in, m_out = group.sizes
    eye = np.eye(m_out * n_in)
    blocks = []
    for p, q in zip(*group.generators, strict=True):
        p_mat, q_mat = np.eye(n_in)[:, np.argsort(p)], np.eye(m_out)[:, np.argsort(q)]
        blocks.append(np.kron(q_mat, p_mat) - eye)  # row-major vec(Q W P^T) = (Q kron P) vec(W)
    if not blocks:
        return m_out * n_in
    singular = np.linalg.svd(np.concatenate(blocks), compute_uv=False)
    return int((singular < 1e-9).sum())


@given(groups(max_size=5))
def test_dense_parameter_count_is_burnside_and_the_nullspace_dimension(group: Group) -> None:
    layer = EquivariantLinear(group.action(0), group.action(1), bias=False)
    assert layer.num_free_parameters == burnside_pair_orbits(group) == nullspace_dimension(group)


def _layer_and_input(group: Group, design: str, channels: bool) -> tuple[EquivariantLinear, torch.Tensor]:
    kwargs = {"in_channels": 2, "out_channels": 3} if channels else {}
    layer = EquivariantLinear(group.action(0), group.action(1), design=design, **kwargs).double()
    shape = (4, group.sizes[0], 2) if channels else (4, group.sizes[0])
    return layer, torch.randn(*shape, dtype=torch.float64)


def _first_elements(group: Group, count: int) -> np.ndarray:
    """The first ``count`` elements in breadth-first order of word length, without enumerating the group
    (S6 x S6 has 518,400 elements, above `Group.elements`' limit)."""
    found = [np.arange(group.degree)]
    seen = {found[0].tobytes()}
    start = 0
    while start < len(found) and len(found) < count:
        for g in group.union_generators:
            product = g[found[start]]
            if product.tobytes() not in seen:
                seen.add(product.tobytes())
                found.append(product)
        start += 1
    return np.stack(found[:count])


@given(groups(max_size=7), st.sampled_from(["dense", "sparse"]), st.booleans())
def test_equivariant_to_machine_precision(group: Group, design: str, channels: bool) -> None:
    layer, x = _layer_and_input(group, design, channels)
    p_in, p_out = group.split(_first_elements(group, 30))
    dim = -2 if channels else -1
    ins = [lambda t, p=p: act(p, t, dim=dim) for p in p_in]
    outs = [lambda t, q=q: act(q, t, dim=dim) for q in p_out]
    assert equivariance_error(layer, x, ins, outs) < 1e-12


@given(groups(max_size=6))
def test_exact_equality_on_integer_weights_and_inputs(group: Group) -> None:
    layer = EquivariantLinear(group.action(0), group.action(1)).double()
    with torch.no_grad():
        layer.free_weight.copy_(torch.randint(-5, 6, layer.free_weight.shape))
        layer.free_bias.copy_(torch.randint(-5, 6, layer.free_bias.shape))
    x = torch.randint(-9, 10, (3, group.sizes[0])).double()
    for p, q in zip(*group.split(group.elements()[:20]), strict=True):
        assert torch.equal(layer(act(p, x)), act(q, layer(x)))


@given(groups(max_size=5), st.data())
def test_generic_weights_are_equivariant_exactly_to_the_pattern_symmetries(
    group: Group, data: st.DataObject
) -> None:
    layer = EquivariantLinear(group.action(0), group.action(1)).double()
    symmetry = symmetry_group(layer)
    assert symmetry.order >= symmetry.layer_group_order
    assert symmetry.order % symmetry.layer_group_order == 0  # G is a subgroup of G_Omega
    x = torch.randn(6, group.sizes[0], dtype=torch.float64)
    p = data.draw(permutations(group.sizes[0]))
    q = data.draw(permutations(group.sizes[1]))
    error = equivariance_error(layer, x, p, q)
    if symmetry.group.contains((p, q)):
        assert error < 1e-12
    else:
        assert error > 1e-6


def test_uniquely_equivariant_layer_is_sensitive_to_permutations_outside_g() -> None:
    reg = regular(dihedral(4))
    layer = EquivariantLinear(reg.action(), reg.action()).double()
    assert symmetry_group(layer).is_unique
    rng = np.random.default_rng(1)
    pair = Group(layer.in_generators, layer.out_generators)
    outside = 0
    x = torch.randn(5, 8, dtype=torch.float64)
    for _ in range(50):
        p, q = rng.permutation(8), rng.permutation(8)
        if not pair.contains((p, q)):
            outside += 1
            assert equivariance_error(layer, x, p, q) > 1e-3
    assert outside > 40


def test_a4_dense_layer_is_not_uniquely_equivariant() -> None:
    a4 = alternating(4)
    symmetry = symmetry_group(EquivariantLinear(a4.action(), a4.action()))
    assert (symmetry.order, symmetry.layer_group_order, symmetry.is_unique) == (24, 12, False)


@pytest.mark.parametrize(
    ("connections", "unique"),
    [(None, True), ([0, 1], True), ([0], False), ([1], False), ([], False)],
)
def test_sparse_regular_design_is_unique_exactly_when_s_generates(
    connections: list[int] | None, unique: bool
) -> None:
    d4 = dihedral(4)  # generators: rotation (order 4) and reflection (order 2)
    reg = regular(d4)
    layer = EquivariantLinear(reg.action(), reg.action(), design="sparse", connections=connections)
    dense = EquivariantLinear(reg.action(), reg.action())
    expected_colours = 1 + (2 if connections is None else len(connections))
    assert layer.pattern.num_weight_colours == expected_colours < dense.pattern.num_weight_colours
    assert symmetry_group(layer).is_unique is unique
    x = torch.randn(3, 8, dtype=torch.float64)
    perms = reg.action().permutations()
    assert equivariance_error(layer, x, perms, perms) < 1e-12


def test_sparse_design_connects_output_g_to_inputs_g_times_s() -> None:
    c6 = regular(cyclic(6))
    layer = EquivariantLinear(c6.action(), c6.action(), bias=False, design="sparse")
    colours = layer.pattern.weight_colours
    assert (colours >= 0).sum(axis=1).tolist() == [2] * 6  # S = {e, generator}
    assert layer.num_free_parameters == 2


def test_the_design_is_a_str_enum_member_either_way() -> None:
    c6 = regular(cyclic(6))
    by_name = EquivariantLinear(c6.action(), c6.action(), design="sparse")
    by_member = EquivariantLinear(c6.action(), c6.action(), design=Design.SPARSE)
    assert by_name.design is by_member.design is Design.SPARSE and by_name.design == "sparse"
    assert np.array_equal(by_name.pattern.weight_colours, by_member.pattern.weight_colours)
    assert "design='sparse'" in repr(by_name)


def test_the_old_path_of_the_layer_warns_and_gives_the_same_class() -> None:
    import eqlab.sharing

    with pytest.warns(DeprecationWarning, match="use eqlab.nn.EquivariantLinear"):
        old = eqlab.sharing.EquivariantLinear
    assert old is EquivariantLinear
    assert "EquivariantLinear" not in eqlab.sharing.__all__
    with pytest.raises(AttributeError, match="has no attribute 'SetLinear'"):
        _ = eqlab.sharing.SetLinear


def test_channels_and_to_linear_compute_the_same_function() -> None:
    p4 = torus(4)
    layer = EquivariantLinear(p4.action(), p4.action(), in_channels=3, out_channels=2).double()
    assert layer.weight.shape == (16, 16, 2, 3)
    assert layer.num_free_parameters == layer.pattern.num_weight_colours * 6 + 2
    x = torch.randn(5, 16, 3, dtype=torch.float64)
    linear = layer.to_linear()
    torch.testing.assert_close(linear(x.flatten(-2)), layer(x).flatten(-2), rtol=1e-13, atol=1e-13)
    flat = EquivariantLinear(p4.action(), p4.action()).double()
    torch.testing.assert_close(flat.to_linear()(x[..., 0]), flat(x[..., 0]), rtol=1e-13, atol=1e-13)


def test_weight_is_computed_not_a_parameter() -> None:
    layer = EquivariantLinear(cyclic(5).action(), cyclic(5).action())
    names = {name for name, _ in layer.named_parameters()}
    assert names == {"free_weight", "free_bias"}
    assert layer.weight.shape == (5, 5) and layer.bias is not None and layer.bias.shape == (5,)
    assert layer.weight.grad_fn is not None


def test_raw_permutation_arrays_and_tensors_are_accepted() -> None:
    in_perms = torch.tensor([[1, 2, 3, 0]])
    out_perms = np.array([[1, 0]])  # C4 on 4 points and its quotient C2 on 2: one group
    layer = EquivariantLinear(in_perms, out_perms)
    assert layer.in_features == 4 and layer.out_features == 2


def test_bad_arguments_name_the_problem() -> None:
    with pytest.raises(ValueError, match="in_perms has 1 generators but out_perms has 2"):
        EquivariantLinear([[1, 0]], [[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="not a permutation"):
        EquivariantLinear([[1, 1]], [[1, 0]])
    with pytest.raises(ValueError, match="design must be one of"):
        EquivariantLinear([[1, 0]], [[1, 0]], design="banded")
    with pytest.raises(ValueError, match="connections must hold generator indices in 0..0"):
        EquivariantLinear([[1, 0]], [[1, 0]], design="sparse", connections=[3])
    layer = EquivariantLinear([[1, 0]], [[1, 0]])
    with pytest.raises(ValueError, match=r"expects inputs of shape \(..., 2\), got \(4, 3\)"):
        layer(torch.randn(4, 3))
    with pytest.raises(ValueError, match="pass one of its actions"):
        EquivariantLinear(Group([[1, 0]], [[1, 0]]), symmetric(2))
    with pytest.raises(TypeError, match="EquivariantLinear"):
        symmetry_group(torch.nn.Linear(2, 2))  # type: ignore[arg-type]
