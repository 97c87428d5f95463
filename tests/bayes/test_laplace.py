"""KronLaplace against dense references: equal where KFAC is exact, gradients against finite
differences, the Kronecker log determinant against a dense one, and the Monte Carlo GGN's deviation."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call, jacrev

from eqlab.bayes import KronLaplace
from eqlab.bayes._laplace import _eigvalsh, kron_logdet


def _dense_block_ggns(model: nn.Module, x: torch.Tensor, likelihood: str) -> dict[str, torch.Tensor]:
    """The exact GGN's diagonal block of every parameter tensor: sum_n J_n^T H_n J_n (slow reference)."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    blocks = {k: torch.zeros(v.numel(), v.numel(), dtype=torch.float64) for k, v in params.items()}
    for xn in x:

        def f(p: dict[str, torch.Tensor], xn: torch.Tensor = xn) -> torch.Tensor:
            return functional_call(model, p, (xn[None],))[0]

        jac = jacrev(f)(params)
        out = f(params)
        if likelihood == "classification":
            p = out.softmax(0)
            hess = torch.diag(p) - torch.outer(p, p)
        else:
            hess = torch.eye(out.numel(), dtype=torch.float64)
        for k in params:
            j = jac[k].reshape(out.numel(), -1)
            blocks[k] += j.T @ hess @ j
    return blocks


def _dense_lml(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    likelihood: str,
    delta: torch.Tensor,
    sigma: float = 1.0,
) -> torch.Tensor:
    blocks = _dense_block_ggns(model, x, likelihood)
    with torch.no_grad():
        out = model(x)
    if likelihood == "classification":
        loglik = -nn.functional.cross_entropy(out, y, reduction="sum")
    else:
        loglik = -((out - y) ** 2).sum() / (2 * sigma**2) - out.numel() / 2 * math.log(2 * math.pi * sigma**2)
    total = loglik
    for k, (name, p) in enumerate(model.named_parameters()):
        block = blocks[name] / sigma**2 + delta[k] * torch.eye(p.numel(), dtype=torch.float64)
        total = total - 0.5 * delta[k] * p.detach().pow(2).sum() + 0.5 * p.numel() * torch.log(delta[k])
        total = total - 0.5 * torch.logdet(block)
    return total


def _mlp(bias: bool = True) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 5, bias=bias), nn.Tanh(), nn.Linear(5, 4, bias=bias)).double()


def _delta(model: nn.Module) -> torch.Tensor:
    return torch.linspace(0.5, 2.0, len(list(model.parameters())), dtype=torch.float64)


@pytest.mark.parametrize("likelihood", ["classification", "regression"])
def test_one_data_point_equals_the_block_diagonal_dense_evidence(likelihood: str) -> None:
    model = _mlp()
    x = torch.randn(1, 3, dtype=torch.float64)
    y = torch.tensor([2]) if likelihood == "classification" else torch.randn(1, 4, dtype=torch.float64)
    la = KronLaplace(model, likelihood)
    la.fit([(x, y)])
    delta = _delta(model)
    sigma = None if likelihood == "classification" else 0.7
    expected = _dense_lml(model, x, y, likelihood, delta, sigma or 1.0)
    torch.testing.assert_close(la.log_marginal_likelihood(delta, sigma), expected, rtol=1e-10, atol=1e-10)


def test_identical_inputs_are_exact_and_batching_does_not_matter() -> None:
    model = _mlp()
    x = torch.randn(1, 3, dtype=torch.float64).expand(12, 3).clone()
    y = torch.randint(0, 4, (12,))
    delta = _delta(model)
    expected = _dense_lml(model, x, y, "classification", delta)
    for batches in ([(x, y)], [(x[:5], y[:5]), (x[5:], y[5:])]):
        la = KronLaplace(model, "classification")
        la.fit(batches)
        torch.testing.assert_close(la.log_marginal_likelihood(delta), expected, rtol=1e-10, atol=1e-10)


def test_a_bias_free_linear_layer_with_gaussian_noise_is_exact() -> None:
    torch.manual_seed(1)
    model = nn.Linear(4, 3, bias=False).double()
    x, y = torch.randn(30, 4, dtype=torch.float64), torch.randn(30, 3, dtype=torch.float64)
    la = KronLaplace(model, "regression")
    la.fit([(x[:10], y[:10]), (x[10:], y[10:])])
    delta = torch.tensor([0.3], dtype=torch.float64)
    expected = _dense_lml(model, x, y, "regression", delta, sigma=0.4)
    torch.testing.assert_close(la.log_marginal_likelihood(delta, 0.4), expected, rtol=1e-10, atol=1e-10)


def test_gradients_match_finite_differences() -> None:
    model = _mlp()
    x, y = torch.randn(40, 3, dtype=torch.float64), torch.randn(40, 4, dtype=torch.float64)
    la = KronLaplace(model, "regression")
    la.fit([(x, y)])
    log_delta = torch.linspace(-1, 1, 4, dtype=torch.float64).requires_grad_()
    log_sigma = torch.tensor(-0.3, dtype=torch.float64, requires_grad=True)

    def value(ld: torch.Tensor, ls: torch.Tensor) -> torch.Tensor:
        return la.log_marginal_likelihood(ld.exp(), ls.exp())

    value(log_delta, log_sigma).backward()
    assert log_delta.grad is not None and log_sigma.grad is not None
    grad_delta, grad_sigma = log_delta.grad, float(log_sigma.grad)
    eps = 1e-6
    with torch.no_grad():
        for k in range(4):
            step = torch.zeros(4, dtype=torch.float64)
            step[k] = eps
            numeric = float(value(log_delta + step, log_sigma) - value(log_delta - step, log_sigma)) / (
                2 * eps
            )
            assert abs(numeric - float(grad_delta[k])) < 1e-6 * max(1.0, abs(numeric))
        numeric = float(value(log_delta, log_sigma + eps) - value(log_delta, log_sigma - eps)) / (2 * eps)
        assert abs(numeric - grad_sigma) < 1e-6 * max(1.0, abs(numeric))


@given(st.integers(1, 5), st.integers(1, 5), st.floats(1e-3, 1e3), st.integers(0, 2**16))
def test_kronecker_logdet_equals_dense(da: int, dg: int, delta: float, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    ra = torch.randn(da, max(da - 1, 1), generator=gen, dtype=torch.float64)  # possibly rank-deficient
    rg = torch.randn(dg, dg, generator=gen, dtype=torch.float64)
    a, g = ra @ ra.T, rg @ rg.T
    expected = torch.logdet(torch.kron(a, g) + delta * torch.eye(da * dg, dtype=torch.float64))
    got = kron_logdet(
        torch.linalg.eigvalsh(a).clamp_min(0),
        torch.linalg.eigvalsh(g).clamp_min(0),
        torch.tensor(delta, dtype=torch.float64),
    )
    assert abs(float(got - expected)) < 1e-8 * max(1.0, abs(float(expected)))


def test_conv_and_gram_trick_against_dense_and_the_gap_elsewhere() -> None:
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, padding_mode="circular"),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3 * 5 * 5, 3),
    ).double()
    x, y = torch.randn(4, 1, 5, 5, dtype=torch.float64), torch.randint(0, 3, (4,))
    la = KronLaplace(model, "classification")
    la.fit([(x, y)])  # the Linear factor is 75 x 75 with 4 rows: eigenvalues from the 4 x 4 Gram matrix
    delta = _delta(model)
    kfac, dense = la.log_marginal_likelihood(delta), _dense_lml(model, x, y, "classification", delta)
    # KFAC is not exact here (4 inputs, 25 positions per convolution); the gap is small but not zero
    assert torch.isfinite(kfac) and 0 < abs(float(kfac - dense)) < 0.2 * abs(float(dense))
    one = KronLaplace(model, "classification")
    one.fit([(x[:1], y[:1])])
    linear_only = _dense_block_ggns(model, x[:1], "classification")["3.weight"]
    block = linear_only + delta[2] * torch.eye(linear_only.shape[0], dtype=torch.float64)
    group = one._groups[2]
    assert group.eig_a is not None
    torch.testing.assert_close(
        kron_logdet(group.eig_a, group.eig_g, delta[2]), torch.logdet(block), rtol=1e-9, atol=1e-9
    )


def test_monte_carlo_ggn_approaches_the_exact_one() -> None:
    model = _mlp()
    x, y = torch.randn(200, 3, dtype=torch.float64), torch.randint(0, 4, (200,))
    exact = KronLaplace(model, "classification")
    exact.fit([(x, y)])
    delta = _delta(model)
    gaps = []
    for samples in (1, 64):
        mc = KronLaplace(model, "classification", ggn="mc", mc_samples=samples, seed=3)
        mc.fit([(x, y)])
        gaps.append(abs(float(mc.log_marginal_likelihood(delta) - exact.log_marginal_likelihood(delta))))
    assert gaps[1] < gaps[0] and gaps[1] < 0.01 * abs(float(exact.log_marginal_likelihood(delta)))


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="BatchNorm1d"):
        KronLaplace(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)), "classification").fit(
            [(torch.randn(4, 2), torch.zeros(4, dtype=torch.long))]
        )
    la = KronLaplace(_mlp(), "classification")
    with pytest.raises(RuntimeError, match="fit"):
        la.log_marginal_likelihood(1.0)
    la.fit([(torch.randn(3, 3, dtype=torch.float64), torch.zeros(3, dtype=torch.long))])
    with pytest.raises(ValueError, match="one entry per parameter group"):
        la.log_marginal_likelihood(torch.ones(3))
    with pytest.raises(ValueError, match="regression only"):
        la.log_marginal_likelihood(1.0, sigma_noise=0.5)
    with pytest.raises(ValueError, match="likelihood must be"):
        KronLaplace(_mlp(), "poisson")


class _SharedHalves(nn.Module):
    """One Linear map applied to both halves of the input, outputs side by side: weight sharing where
    each output depends on one call only, so KFAC-expand is exact with a Gaussian likelihood."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.shared = nn.Linear(3, 2).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.shared(x[:, :3]), self.shared(x[:, 3:])], dim=1)


def test_a_layer_called_twice_counts_both_calls_and_is_exact_where_kfac_expand_is() -> None:
    model = _SharedHalves()
    x, y = torch.randn(7, 6, dtype=torch.float64), torch.randn(7, 4, dtype=torch.float64)
    la = KronLaplace(model, "regression")
    la.fit([(x[:3], y[:3]), (x[3:], y[3:])])
    delta = torch.tensor([0.4, 1.3], dtype=torch.float64)
    expected = _dense_lml(model, x, y, "regression", delta, sigma=0.6)
    torch.testing.assert_close(la.log_marginal_likelihood(delta, 0.6), expected, rtol=1e-10, atol=1e-10)


class _Siamese(nn.Module):
    """A classifier that sums the features of one shared layer over two inputs (a nonlinear net)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.shared = nn.Linear(3, 4).double()
        self.head = nn.Linear(4, 3).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.shared(x[:, :3])) + torch.tanh(self.shared(x[:, 3:])))


def test_factors_of_a_layer_called_twice_equal_brute_force_sums_over_both_calls() -> None:
    from eqlab.bayes._curvature import accumulate_factors

    model = _Siamese()
    x, y = torch.randn(5, 6, dtype=torch.float64), torch.randint(0, 3, (5,))
    factors, *_ = accumulate_factors(model, [(x, y)], "classification")
    shared = next(f for f in factors if f.name == "shared")
    # brute force: both calls written out, each call's output gradient taken on its own
    halves = (x[:, :3], x[:, 3:])
    s = [nn.functional.linear(h, model.shared.weight, model.shared.bias) for h in halves]
    out = model.head(torch.tanh(s[0]) + torch.tanh(s[1]))
    p = out.detach().softmax(dim=1)
    a_sum = sum(h.T @ h for h in halves)
    g_sum = torch.zeros(4, 4, dtype=torch.float64)
    for k in range(3):
        v = p[:, k : k + 1].sqrt() * (torch.eye(3, dtype=torch.float64)[k] - p)  # rows of L_n, class k
        for g in torch.autograd.grad(out, s, grad_outputs=v, retain_graph=True):
            g_sum += g.T @ g
    assert shared.rows == 2 * len(x)
    torch.testing.assert_close(shared.a_sum, a_sum, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(shared.g_sum, g_sum, rtol=1e-12, atol=1e-12)


def test_a_trainable_layer_the_forward_pass_skips_is_named() -> None:
    class Skips(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used, self.unused = nn.Linear(2, 2), nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.used(x)

    with pytest.raises(ValueError, match="did not call its trainable layer 'unused'"):
        KronLaplace(Skips(), "classification").fit([(torch.randn(3, 2), torch.zeros(3, dtype=torch.long))])


def test_factor_eigenvalues_are_computed_in_float64_whatever_the_model() -> None:
    # eigenvalues from 1e-10 to 1: a float32 solver gets the small ones wrong by about 1e-7 (and fails to
    # converge on some ill-conditioned factors of float32 networks, as a study run at lr 0.01 showed)
    generator = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(40, 40, dtype=torch.float64, generator=generator))
    true = torch.logspace(-10, 0, 40, dtype=torch.float64)
    factor = q @ torch.diag(true) @ q.T
    assert float((_eigvalsh(factor) - true).abs().max()) < 1e-13
