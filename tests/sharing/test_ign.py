"""Set- and graph-size-generic layers against the orbit construction at several sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eqlab.groups import Group, act, on_tuples, symmetric
from eqlab.nn import EquivariantLinear, EquivariantMLP, GraphLinear, OrbitPool, SetLinear, SymmetricLinear
from eqlab.sharing._ign import equality_pattern, set_partitions
from eqlab.testing import equivariance_error


def test_bell_numbers() -> None:
    assert [len(set_partitions(k)) for k in range(6)] == [1, 1, 2, 5, 15, 52]


def _orbit_layer(n: int, in_order: int, out_order: int) -> EquivariantLinear:
    s_n = symmetric(n)
    inputs = on_tuples(s_n, in_order).action()
    outputs = (
        on_tuples(s_n, out_order).action()
        if out_order
        else Group(np.zeros((s_n.num_generators, 1), dtype=np.int64)).action()
    )
    return EquivariantLinear(inputs, outputs, bias=False, in_channels=2, out_channels=3).double()


@pytest.mark.parametrize(("in_order", "out_order"), [(1, 1), (2, 2), (1, 2), (2, 1), (1, 0), (2, 0)])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 6])
def test_equals_the_orbit_construction(in_order: int, out_order: int, n: int) -> None:
    layer = SymmetricLinear(in_order, out_order, 2, 3, bias=False).double()
    dense = _orbit_layer(n, in_order, out_order)
    index = {p: i for i, p in enumerate(layer.partitions)}
    colours = dense.pattern.weight_colours
    with torch.no_grad():
        for colour in range(dense.pattern.num_weight_colours):
            m, k = np.argwhere(colours == colour)[0]
            out_idx = np.unravel_index(m, (n,) * out_order) if out_order else ()
            in_idx = np.unravel_index(k, (n,) * in_order)
            dense.free_weight[colour] = layer.weight[index[equality_pattern([*out_idx, *in_idx])]]
    # one orbit per partition with at most n blocks
    assert dense.pattern.num_weight_colours == sum(max(p, default=-1) < n for p in layer.partitions)
    x = torch.randn(4, *(n,) * in_order, 2, dtype=torch.float64)
    expected = dense(x.reshape(4, n**in_order, 2))
    torch.testing.assert_close(layer(x).reshape(expected.shape), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [4, 11, 30])
def test_graph_and_set_layers_are_equivariant_at_any_size(n: int) -> None:
    perms = np.stack([np.random.default_rng(s).permutation(n) for s in range(5)])
    graph = GraphLinear(3, 2, aggregation="mean")
    x = torch.randn(2, n, n, 3)
    ins = [lambda t, p=p: act(p, act(p, t, dim=-2), dim=-3) for p in perms]
    assert equivariance_error(graph, x, ins, ins) < 1e-12
    sets = SetLinear(3, 2)
    ins_1 = [lambda t, p=p: act(p, t, dim=-2) for p in perms]
    assert equivariance_error(sets, torch.randn(2, n, 3), ins_1, ins_1) < 1e-12


def test_graph_bias_is_tied_over_diagonal_and_off_diagonal() -> None:
    layer = GraphLinear(1, 1)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.copy_(torch.tensor([[2.0], [5.0]]))
    out = layer(torch.zeros(1, 3, 3, 1))[0, ..., 0]
    assert torch.equal(out, torch.tensor([[2.0, 5, 5], [5, 2, 5], [5, 5, 2]]))


def test_orbit_pool_and_mlp_are_invariant() -> None:
    s5 = symmetric(5)
    model = EquivariantMLP(s5.action(), [8, 8], out_features=2, activation="tanh")
    perms = s5.elements()[:40]
    x = torch.randn(6, 5)
    assert equivariance_error(model, x, perms, [lambda t: t] * len(perms)) < 1e-12
    pool = OrbitPool(Group([[1, 0, 2, 3]]).action())
    assert pool.num_orbits == 3
    out = pool(torch.arange(8.0).reshape(1, 4, 2))
    assert torch.equal(out, torch.tensor([[[1.0, 2.0], [4.0, 5.0], [6.0, 7.0]]]))


def test_symmetric_linear_errors() -> None:
    with pytest.raises(ValueError, match="in_order must be 1 or 2"):
        SymmetricLinear(3, 1, 1, 1)
    with pytest.raises(ValueError, match="expects inputs"):
        GraphLinear(2, 2)(torch.randn(3, 4, 5, 2))
