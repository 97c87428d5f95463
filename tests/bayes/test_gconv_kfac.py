"""KronLaplace on eqlab's G-CNN layers: the factors of LiftingConv2d / GroupConv2d against brute-force
sums over data points, orientations and positions, the batch norms' diagonal against the dense GGN, the
evidence against the dense one where KFAC-expand is exact, and gradients against finite differences."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call, jacrev

from eqlab.bayes import KronLaplace
from eqlab.bayes._curvature import LayerFactors, accumulate_factors
from eqlab.bayes._diagonal import DiagonalFactors
from eqlab.nn import GroupBatchNorm2d, GroupConv2d, LiftingConv2d
from tests.bayes.test_laplace import _dense_block_ggns, _dense_lml


def _randomise_norm(norm: nn.modules.batchnorm._BatchNorm, seed: int) -> None:
    """Running statistics and affine parameters away from their initial values."""
    gen = torch.Generator().manual_seed(seed)
    assert norm.running_mean is not None and norm.running_var is not None
    c = norm.num_features
    with torch.no_grad():
        norm.running_mean.copy_(torch.randn(c, generator=gen))
        norm.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
        norm.weight.copy_(torch.randn(c, generator=gen))
        norm.bias.copy_(torch.randn(c, generator=gen))


class _GCNN(nn.Module):
    """Lifting -> ReLU -> group conv -> GroupBatchNorm2d -> ReLU -> pool -> Linear, in float64."""

    def __init__(self, group: str, padding_mode: str, stride: int, dilation: int = 1) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lift = LiftingConv2d(2, 3, 3, group=group, padding=1, padding_mode=padding_mode)
        mode, pad = padding_mode, dilation
        self.gconv = GroupConv2d(3, 2, 3, group, stride, pad, dilation, padding_mode=mode)
        self.norm = GroupBatchNorm2d(2)
        self.head = nn.Linear(2 * self.lift.group.order, 3)
        _randomise_norm(self.norm, 1)
        self.double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.norm(self.gconv(torch.tanh(self.lift(x)))))
        return self.head(h.mean(dim=(3, 4)).flatten(1))


def _brute_force_factors(
    model: nn.Module, layer: nn.Module, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``A_sum``, ``G_sum`` and the row count of ``layer`` by explicit loops: each row's input vector
    read off the dense Jacobian of the layer's output in its free filters (one per data point,
    orientation and position), each row's output vector from back-propagating every column of the
    softmax Hessian's square root."""
    model.eval()
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    handle = layer.register_forward_hook(lambda m, i, o: seen.append((i[0].detach(), o)))
    out = model(x)
    handle.remove()
    ((a, s),) = seen
    weight = layer.weight.detach()

    def conv(w: torch.Tensor) -> torch.Tensor:
        return functional_call(layer, {"weight": w, "bias": layer.bias.detach()}, (a,))

    jac = jacrev(conv)(weight)  # (N, C_out, |G|, H', W', C_out, C_in, |G_in|, k, k)
    n, c_out, orders, height, width = s.shape
    d = weight[0].numel()
    a_sum = torch.zeros(d, d, dtype=torch.float64)
    rows = 0
    for i in range(n):
        for g in range(orders):
            for y in range(height):
                for z in range(width):
                    block = jac[i, :, g, y, z].reshape(c_out, c_out, d)
                    row = block[0, 0]
                    # the same row for every output channel, nothing across channels
                    expected = torch.eye(c_out, dtype=row.dtype)[:, :, None] * row
                    torch.testing.assert_close(block, expected, rtol=0, atol=0)
                    a_sum += torch.outer(row, row)
                    rows += 1
    p = out.detach().softmax(dim=1)
    g_sum = torch.zeros(c_out, c_out, dtype=torch.float64)
    for k in range(out.shape[1]):
        v = p[:, k : k + 1].sqrt() * (torch.eye(out.shape[1], dtype=torch.float64)[k] - p)
        (grad,) = torch.autograd.grad(out, s, grad_outputs=v, retain_graph=True)
        for i in range(n):
            for g in range(orders):
                for y in range(height):
                    for z in range(width):
                        row = grad[i, :, g, y, z]
                        g_sum += torch.outer(row, row)
    return a_sum, g_sum, rows


@pytest.mark.parametrize(
    ("group", "padding_mode", "stride", "dilation"),
    [("p4", "zeros", 1, 1), ("p4", "circular", 2, 1), ("p4m", "zeros", 2, 2), ("hflip", "circular", 1, 1)],
)
def test_gconv_factors_equal_brute_force_sums_over_points_orientations_and_positions(
    group: str, padding_mode: str, stride: int, dilation: int
) -> None:
    model = _GCNN(group, padding_mode, stride, dilation)
    x = torch.randn(3, 2, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    y = torch.tensor([0, 2, 1])
    factors, *_ = accumulate_factors(model, [(x[:2], y[:2]), (x[2:], y[2:])], "classification")
    by_name = {f.name: f for f in factors}
    for name in ("lift", "gconv"):
        factor = by_name[name]
        assert isinstance(factor, LayerFactors)
        a_sum = torch.zeros_like(factor.a_sum)
        g_sum = torch.zeros_like(factor.g_sum)
        rows = 0
        for batch in (x[:2], x[2:]):
            a, g, r = _brute_force_factors(model, getattr(model, name), batch)
            a_sum, g_sum, rows = a_sum + a, g_sum + g, rows + r
        assert factor.rows == rows
        torch.testing.assert_close(factor.a_sum, a_sum, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(factor.g_sum, g_sum, rtol=1e-12, atol=1e-12)


def test_batch_norm_diagonal_equals_the_dense_ggn_diagonal_in_eval_mode() -> None:
    model = _GCNN("p4", "zeros", 1)
    plain = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Tanh(), nn.Flatten(), nn.Linear(12, 3))
    _randomise_norm(plain[1], 3)
    plain.double()
    gen = torch.Generator().manual_seed(4)
    for net, x in ((model, torch.randn(5, 2, 6, 6, dtype=torch.float64, generator=gen)),
                   (plain, torch.randn(5, 2, 4, 4, dtype=torch.float64, generator=gen))):  # fmt: skip
        y = torch.tensor([0, 1, 2, 1, 0])
        la = KronLaplace(net, "classification")
        la.fit([(x[:3], y[:3]), (x[3:], y[3:])])
        net.eval()
        dense = _dense_block_ggns(net, x, "classification")
        norm = "norm" if net is model else "1"
        for suffix in ("weight", "bias"):
            group = la._groups[la.parameter_groups.index(f"{norm}.{suffix}")]
            assert group.eig_a is None
            torch.testing.assert_close(
                group.eig_g, torch.diagonal(dense[f"{norm}.{suffix}"]), rtol=1e-10, atol=1e-12
            )


def test_the_curvature_pass_uses_running_statistics_and_restores_training_mode() -> None:
    model = _GCNN("p4", "zeros", 1)
    model.train()
    before = model.norm.running_mean.clone()
    x, y = torch.randn(4, 2, 6, 6, dtype=torch.float64), torch.tensor([0, 1, 2, 0])
    factors, *_ = accumulate_factors(model, [(x, y)], "classification")
    assert model.training and torch.equal(model.norm.running_mean, before)
    assert isinstance(next(f for f in factors if f.name == "norm"), DiagonalFactors)


class _OneChannel(nn.Module):
    """One G-conv with one output channel whose outputs are the model's outputs: each output reads one
    (orientation, position), so with a Gaussian likelihood KFAC-expand is exact."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer.double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x).flatten(1)


def test_a_frozen_norm_held_in_eval_mode_stays_in_eval_mode() -> None:
    model = _GCNN("p4", "zeros", 1).train()
    model.norm.eval().requires_grad_(False)  # frozen statistics inside a training model
    x, y = torch.randn(4, 2, 6, 6, dtype=torch.float64), torch.tensor([0, 1, 2, 0])
    KronLaplace(model, "classification").fit([(x, y)])
    assert model.training and not model.norm.training


def test_a_batch_norm_called_twice_per_data_point_is_refused() -> None:
    # each call's squared gradient summed apart is not the diagonal of the GGN of the sum of two calls
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.norm = nn.BatchNorm2d(2)
            self.head = nn.Linear(2, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.norm(self.conv(x))
            return self.head((h + self.norm(h)).mean((2, 3)))

    model = Twice().double()
    x, y = torch.randn(4, 1, 5, 5, dtype=torch.float64), torch.tensor([0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"calls its batch norm 'norm' more than once per data point"):
        KronLaplace(model, "classification").fit([(x, y)])


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (LiftingConv2d(2, 1, 3, group="p4", padding=1), (2, 4, 4)),
        (LiftingConv2d(1, 1, 3, group="p4m", stride=2, padding=1, padding_mode="circular"), (1, 6, 6)),
        (GroupConv2d(2, 1, 3, group="p4", padding=1), (2, 4, 5, 5)),
        (GroupConv2d(1, 1, 3, group="p4m", padding=1, bias=False), (1, 8, 3, 3)),
        (GroupConv2d(2, 1, 3, group="p4"), (2, 4, 3, 3)),  # 20 rows < 72 inputs: the Gram-matrix trick
    ],
)
def test_one_output_channel_with_a_gaussian_likelihood_equals_the_dense_evidence(
    layer: nn.Module, shape: tuple[int, ...]
) -> None:
    torch.manual_seed(6)
    model = _OneChannel(layer)
    x = torch.randn(5, *shape, dtype=torch.float64)
    y = model(x).detach() + torch.randn(5, model(x).shape[1], dtype=torch.float64)
    la = KronLaplace(model, "regression")
    la.fit([(x[:2], y[:2]), (x[2:], y[2:])])
    delta = torch.tensor([0.3, 1.7], dtype=torch.float64)[: len(la.parameter_groups)]
    expected = _dense_lml(model, x, y, "regression", delta, sigma=0.6)
    torch.testing.assert_close(la.log_marginal_likelihood(delta, 0.6), expected, rtol=1e-10, atol=1e-10)


def test_gconv_evidence_is_close_to_the_dense_one_but_not_equal_elsewhere() -> None:
    model = _GCNN("p4", "zeros", 1)
    x, y = torch.randn(4, 2, 6, 6, dtype=torch.float64), torch.tensor([0, 1, 2, 0])
    la = KronLaplace(model, "classification")
    la.fit([(x, y)])
    delta = torch.linspace(0.5, 2.0, len(la.parameter_groups), dtype=torch.float64)
    model.eval()
    gap = abs(float(la.log_marginal_likelihood(delta) - _dense_lml(model, x, y, "classification", delta)))
    assert 0 < gap < 0.05 * abs(float(_dense_lml(model, x, y, "classification", delta)))


def test_gconv_and_batch_norm_gradients_match_finite_differences() -> None:
    model = _GCNN("p4", "circular", 2)
    x, y = torch.randn(6, 2, 6, 6, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1, 2])
    la = KronLaplace(model, "classification")
    la.fit([(x, y)])
    count = len(la.parameter_groups)
    assert la.parameter_groups == [
        "lift.weight", "lift.bias", "gconv.weight", "gconv.bias", "norm.weight", "norm.bias",
        "head.weight", "head.bias",
    ]  # fmt: skip
    log_delta = torch.linspace(-1, 1, count, dtype=torch.float64).requires_grad_()
    la.log_marginal_likelihood(log_delta.exp()).backward()
    assert log_delta.grad is not None
    eps = 1e-6
    with torch.no_grad():
        for k in range(count):
            step = torch.zeros(count, dtype=torch.float64)
            step[k] = eps
            numeric = float(
                la.log_marginal_likelihood((log_delta + step).exp())
                - la.log_marginal_likelihood((log_delta - step).exp())
            ) / (2 * eps)
            assert abs(numeric - float(log_delta.grad[k])) < 1e-6 * max(1.0, abs(numeric))


def test_batch_norm_without_running_statistics_and_other_layers_are_refused_by_name() -> None:
    model = nn.Sequential(LiftingConv2d(1, 2, 3), GroupBatchNorm2d(2, track_running_stats=False))
    with pytest.raises(ValueError, match="'1'.*running statistics"):
        KronLaplace(model, "classification")
    with pytest.raises(ValueError, match="'1' is a LayerNorm"):
        KronLaplace(nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2)), "classification")
