"""EquivariantLinear's autograd function (`eqlab.sharing._tied`) against a dense reference built here by
indexing the free weights with the pattern: forward, gradients, double backward, forward-mode AD,
``torch.func``, compilers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from eqlab.groups import Group, cyclic, dihedral, regular, symmetric
from eqlab.nn import EquivariantLinear
from tests.strategies import groups


def reference(
    layer: EquivariantLinear, x: torch.Tensor, free_weight: torch.Tensor | None = None
) -> torch.Tensor:
    """The layer by plain autograd ops: ``free[colour]`` (colour -1 reads an appended zero block)."""
    free = layer.free_weight if free_weight is None else free_weight
    padded = torch.cat([free, free.new_zeros(1, *free.shape[1:])])
    dense = padded[torch.as_tensor(layer.pattern.weight_colours)]  # (M, N, C_out, C_in)
    rows, cols = layer.out_features * layer.out_channels, layer.in_features * layer.in_channels
    matrix = dense.permute(0, 2, 1, 3).reshape(rows, cols)
    bias = None
    if layer.free_bias is not None:
        bias = layer.free_bias[torch.as_tensor(layer.pattern.bias_colours)].reshape(-1)
    if not layer.channelled:
        return F.linear(x, matrix, bias)
    out = F.linear(x.flatten(-2), matrix, bias)
    return out.view(*x.shape[:-2], layer.out_features, layer.out_channels)


def shuffled_cyclic(n: int, seed: int = 0) -> np.ndarray:
    """The generator of C_n acting regularly with its points relabelled at random (orbits on pairs
    scattered over the matrix instead of along its wrapped diagonals)."""
    sigma = np.random.default_rng(seed).permutation(n)
    shift = (np.arange(n) + 1) % n
    generator = np.empty(n, dtype=np.int64)
    generator[sigma] = sigma[shift]
    return generator[None, :]


def integer_layer(layer: EquivariantLinear) -> EquivariantLinear:
    layer = layer.double()
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.copy_(torch.randint(-5, 6, parameter.shape))
    return layer


def input_for(layer: EquivariantLinear, *batch: int) -> torch.Tensor:
    shape = (*batch, layer.in_features) + ((layer.in_channels,) if layer.channelled else ())
    return torch.randint(-9, 10, shape).double()


def gradients(
    function, layer: EquivariantLinear, x: torch.Tensor, cotangent: torch.Tensor
) -> list[torch.Tensor]:
    x = x.detach().requires_grad_(True)
    params = [p for p in layer.parameters()]
    return list(torch.autograd.grad(function(x), [x, *params], cotangent))


def check_exact(layer: EquivariantLinear, x: torch.Tensor) -> None:
    """Integer weights, inputs and cotangent: the output and every gradient equal the reference's."""
    out = layer(x)
    assert torch.equal(out, reference(layer, x))
    cotangent = torch.randint(-7, 8, out.shape).double()
    ours = gradients(layer, layer, x, cotangent)
    theirs = gradients(lambda t: reference(layer, t), layer, x, cotangent)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)


@settings(deadline=None)
@given(groups(max_size=6), st.sampled_from(["dense", "sparse"]), st.booleans(), st.booleans())
def test_integer_exact_forward_and_backward_on_random_groups(
    group: Group, design: str, channels: bool, bias: bool
) -> None:
    kwargs = {"in_channels": 2, "out_channels": 3} if channels else {}
    layer = integer_layer(EquivariantLinear(group.action(0), group.action(1), bias, design, **kwargs))
    check_exact(layer, input_for(layer, 5))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16])
@pytest.mark.parametrize("design", ["dense", "sparse"])
@pytest.mark.parametrize("channels", [None, (3, 2), (1, 4)])
def test_integer_exact_on_cyclic_regular_layers(
    n: int, design: str, channels: tuple[int, int] | None
) -> None:
    kwargs = {} if channels is None else {"in_channels": channels[0], "out_channels": channels[1]}
    c_n = regular(cyclic(n))
    layer = integer_layer(EquivariantLinear(c_n.action(), c_n.action(), design=design, **kwargs))
    check_exact(layer, input_for(layer, 4))


@pytest.mark.parametrize(
    ("make", "copies"),
    [
        (lambda: EquivariantLinear(np.empty((0, 17)), np.empty((0, 17))), 1),  # 289 orbits, one per entry
        (
            lambda: EquivariantLinear(
                regular(cyclic(16)).action(), regular(cyclic(16)).action(), in_channels=4, out_channels=5
            ),
            1,
        ),
        (
            lambda: EquivariantLinear(
                shuffled_cyclic(20), shuffled_cyclic(20), design="sparse", in_channels=1, out_channels=200
            ),
            1,
        ),
        (lambda: EquivariantLinear(symmetric(30).action(), symmetric(30).action()), 16),  # 2 orbits
        (
            lambda: EquivariantLinear(
                shuffled_cyclic(20), shuffled_cyclic(20), design="sparse", in_channels=3, out_channels=4
            ),
            16,
        ),
    ],
)
def test_integer_exact_with_one_table_and_with_copies(make, copies: int) -> None:
    layer = integer_layer(make())
    assert layer._copies == copies
    check_exact(layer, input_for(layer, 3))


def small_layers() -> list[EquivariantLinear]:
    c5, d3 = regular(cyclic(5)), regular(dihedral(3))
    return [
        EquivariantLinear(c5.action(), c5.action()),
        EquivariantLinear(c5.action(), c5.action(), design="sparse", in_channels=2, out_channels=3),
        EquivariantLinear(d3.action(), d3.action(), bias=False),
        EquivariantLinear(d3.action(), d3.action(), design="sparse", in_channels=3, out_channels=2),
        EquivariantLinear([[1, 2, 3, 0]], [[1, 0]], in_channels=2, out_channels=2),  # C4 and its quotient C2
    ]


@pytest.mark.parametrize("index", range(5))
def test_gradcheck_and_gradgradcheck_in_float64(index: int) -> None:
    layer = small_layers()[index].double()
    x = torch.randn(3, *input_for(layer, 1).shape[1:], dtype=torch.float64, requires_grad=True)
    names = [name for name, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in layer.parameters()]

    def function(x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(layer, dict(zip(names, params, strict=True)), (x,))

    assert torch.autograd.gradcheck(function, (x, *params))
    assert torch.autograd.gradgradcheck(function, (x, *params))
    assert torch.autograd.gradcheck(function, (x, *params), check_forward_ad=True, check_backward_ad=False)


@pytest.mark.parametrize("index", range(5))
def test_hessian_and_per_sample_gradients_match_the_reference(index: int) -> None:
    layer = small_layers()[index].double()
    x = torch.randn(4, *input_for(layer, 1).shape[1:], dtype=torch.float64)
    free = layer.free_weight.detach()

    def ours(w: torch.Tensor, x: torch.Tensor = x) -> torch.Tensor:
        return torch.func.functional_call(layer, {"free_weight": w}, (x,)).pow(3).sum()

    def theirs(w: torch.Tensor, x: torch.Tensor = x) -> torch.Tensor:
        return reference(layer, x, w).pow(3).sum()

    # forward over reverse (jacfwd of jacrev) and reverse over reverse
    torch.testing.assert_close(
        torch.func.hessian(ours)(free), torch.func.hessian(theirs)(free), rtol=1e-12, atol=1e-12
    )
    torch.testing.assert_close(
        torch.func.jacrev(torch.func.jacrev(ours))(free),
        torch.func.hessian(theirs)(free),
        rtol=1e-12,
        atol=1e-12,
    )
    per_sample = torch.func.vmap(torch.func.grad(ours), in_dims=(None, 0))(free, x[:, None])
    expected = torch.stack([torch.func.grad(theirs)(free, x[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(per_sample, expected, rtol=1e-12, atol=1e-12)


def test_shapes_train_eval_no_grad_and_frozen_weights() -> None:
    c6 = regular(cyclic(6))
    for layer in (
        integer_layer(EquivariantLinear(c6.action(), c6.action())),
        integer_layer(
            EquivariantLinear(shuffled_cyclic(6), shuffled_cyclic(6), in_channels=2, out_channels=3)
        ),
    ):
        x = input_for(layer, 2, 3)
        expected = reference(layer, x)
        assert torch.equal(layer(x), expected)  # two leading dims
        assert torch.equal(layer(x[0, 0]), expected[0, 0])  # no batch dim
        assert layer(x[:0]).shape == expected[:0].shape  # empty batch
        layer.eval()
        with torch.no_grad():
            assert torch.equal(layer(x), expected)
        with torch.inference_mode():
            assert torch.equal(layer(x), expected)
        layer.train()
        layer.free_weight.requires_grad_(False)  # frozen weights: only the input and bias get gradients
        x.requires_grad_(True)
        layer(x).sum().backward()
        assert layer.free_weight.grad is None and x.grad is not None and layer.free_bias.grad is not None
        layer.free_weight.requires_grad_(True)


@pytest.mark.parametrize("index", [0, 3])
def test_compile_and_export_agree_with_eager(index: int) -> None:
    layer = integer_layer(small_layers()[index])
    x = input_for(layer, 3)
    cotangent = torch.randint(-7, 8, layer(x).shape).double()
    eager = gradients(layer, layer, x, cotangent)
    compiled = torch.compile(layer, backend="aot_eager", fullgraph=True)
    assert torch.equal(compiled(x), layer(x))
    for a, b in zip(gradients(compiled, layer, x, cotangent), eager, strict=True):
        assert torch.equal(a, b)
    for mode in (True, False):
        layer.train(mode)
        program = torch.export.export(layer, (x,))
        assert torch.equal(program.module()(x), layer(x))


def test_autocast_runs_the_matmuls_low_and_returns_gradients_in_the_parameters_dtype() -> None:
    c4 = regular(cyclic(4))
    layer = EquivariantLinear(c4.action(), c4.action(), in_channels=2, out_channels=3)
    with torch.no_grad():  # small integers: every product and sum is exact in bfloat16
        for parameter in layer.parameters():
            parameter.copy_(torch.randint(-1, 2, parameter.shape))
    x = torch.randint(-2, 3, (5, 4, 2)).float()
    cotangent = torch.randint(-2, 3, (5, 4, 3)).to(torch.bfloat16)
    results = []
    for function in (layer, lambda t: reference(layer, t)):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            results.append(function(x))
            results += gradients(function, layer, x, cotangent)
    half = len(results) // 2
    assert results[0].dtype == torch.bfloat16
    assert [r.dtype for r in results[1:half]] == [torch.float32] * 3
    for ours, theirs in zip(results[:half], results[half:], strict=True):
        assert torch.equal(ours, theirs)
