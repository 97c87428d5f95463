"""`KronLaplace`: a Kronecker-factored Laplace approximation and its differentiable marginal likelihood.

The evidence of a network with weights ``theta`` at a mode, a Gaussian prior ``N(0, 1 / delta_h)`` per
parameter tensor ``h`` (a *parameter group*) and the posterior precision ``GGN + diag(delta)``:

    log p(D | delta) ≈ log p(D | theta) - 1/2 sum_h delta_h |theta_h|^2 + 1/2 sum_h P_h log delta_h
                       - 1/2 log det(GGN + diag(delta)),

the terms of laplace-torch's ``log_marginal_likelihood`` (the 2 pi constants cancel). With the GGN
block of each group Kronecker-factored, ``A ⊗ G`` for a weight and ``G`` for a bias, the log
determinant is ``sum_ij log(lambda^A_i lambda^G_j / sigma^2 + delta_h)`` from the factors' eigenvalues,
computed once per `fit`; every later evaluation is a few tensor operations, differentiable in
``delta`` (and ``sigma`` for regression). A factor with at least twice as many dimensions as input
rows gets its eigenvalues from the (smaller) Gram matrix of the rows.

The factors are accumulated on the model's device; their eigenvalues are computed there in float64
(float32 LAPACK fails to converge on ill-conditioned factors) and kept on the CPU in float64, where the
evidence is evaluated. Under ``torchrun``, ``fit(loader, distributed=True)`` with each rank's share of
the data sums the factors, the data count and the log-likelihood over the ranks before the
eigendecompositions, so every rank holds the factors, and the
evidence, of the whole data set.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from eqlab._arguments import describe, flag, integer
from eqlab._arguments import module as check_module
from eqlab.bayes._curvature import (
    Factors,
    LayerFactors,
    accumulate_factors,
    gram_pays,
    layer_parameters,
    supported_layers,
)
from eqlab.bayes._diagonal import DiagonalFactors
from eqlab.bayes._options import GGN, Likelihood

__all__ = ["KronLaplace", "kron_logdet"]


def kron_logdet(eig_a: torch.Tensor, eig_g: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """``log det(A ⊗ G + delta I)`` from the eigenvalues of ``A`` and ``G`` (``(D,)`` each, or
    ``(groups, D)`` for a block-diagonal sum of Kronecker products); ``delta > 0``, differentiable."""
    eig_a = _eigenvalue_arg(eig_a, "eig_a")
    eig_g = _eigenvalue_arg(eig_g, "eig_g")
    if eig_a.dim() != eig_g.dim() or (eig_a.dim() == 2 and eig_a.shape[0] != eig_g.shape[0]):
        raise ValueError(
            "eig_a and eig_g must both be (D,) or both (groups, D) with the same groups, "
            f"got {describe(eig_a)} and {describe(eig_g)}"
        )
    return _kron_logdet(eig_a, eig_g, _positive(delta, "delta", scalar=True))


def _kron_logdet(eig_a: torch.Tensor, eig_g: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    return torch.log(eig_a[..., :, None] * eig_g[..., None, :] + delta).sum()


def _eigenvalue_arg(value: Any, name: str) -> torch.Tensor:
    """Eigenvalues of a positive semi-definite factor: rounding below zero is clamped, more is refused."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a tensor of eigenvalues, got {describe(value)}")
    if value.dim() not in (1, 2) or not value.is_floating_point():
        raise ValueError(f"{name} must be a (D,) or (groups, D) floating-point tensor, got {describe(value)}")
    detached = value.detach()
    if not bool(torch.isfinite(detached).all()):
        raise ValueError(f"{name} must hold finite eigenvalues, got {describe(value)} with NaN or Inf")
    scale = float(detached.abs().max()) if detached.numel() else 0.0
    if detached.numel() and float(detached.min()) < -1e-10 * max(scale, 1.0):
        raise ValueError(
            f"{name} must hold the eigenvalues of a positive semi-definite factor (>= 0), got minimum "
            f"{float(detached.min()):.3g}"
        )
    return value.clamp_min(0)


def _positive(
    value: Any, name: str, *, scalar: bool = False, size: int | None = None, groups: str = ""
) -> torch.Tensor:
    """``value`` as a float64 tensor of finite positive numbers (a scalar, or ``size`` entries when given),
    keeping its autograd graph."""
    expected = (
        "a positive number"
        if scalar
        else f"a positive scalar or have one entry per parameter group ({size}: {groups})"
    )
    if value is None or isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    if isinstance(value, torch.Tensor) and (value.dtype == torch.bool or value.is_complex()):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    try:
        tensor = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}") from None
    if tensor.dim() != 0 and (scalar or tensor.shape != (size,)):
        raise ValueError(f"{name} must be {expected}, got {describe(value)}")
    detached = tensor.detach()
    if not bool(torch.isfinite(detached).all()) or not bool((detached > 0).all()):
        raise ValueError(f"{name} must be {expected} (finite, > 0), got {detached.tolist()}")
    return tensor


@dataclass
class _Group:
    name: str
    numel: int
    sq_norm: float
    eig_a: torch.Tensor | None  # None for a bias: its block is G alone
    eig_g: torch.Tensor


def _sq_norm(param: torch.Tensor) -> float:
    return float(param.detach().double().pow(2).sum())


def _diagonal(factor: DiagonalFactors, diag: torch.Tensor | None) -> torch.Tensor:
    """A batch norm parameter's GGN diagonal (its block's eigenvalues in the diagonal approximation)."""
    if diag is None:
        raise RuntimeError(f"no output gradients were recorded for {factor.name!r}")
    return diag.cpu()


def _eigenvalues(factor: LayerFactors) -> torch.Tensor:
    """Eigenvalues of ``A = A_sum / rows`` (float64), by the Gram matrix when that is cheaper
    (`gram_pays`: at most half as many rows as dimensions)."""
    if factor.a_sum is None:
        raise RuntimeError(f"no inputs were recorded for {factor.name!r}")
    dim = factor.a_sum.shape[0]
    if factor.kept is not None and gram_pays(factor.rows, dim):
        rows = torch.cat(factor.kept)
        small = torch.linalg.eigvalsh(rows @ rows.T / factor.rows)
        zeros = torch.zeros(dim - small.numel(), dtype=small.dtype, device=small.device)
        return torch.cat([small, zeros]).clamp_min(0)
    return _eigvalsh(factor.a_sum / factor.rows)


def _eigvalsh(factor: torch.Tensor) -> torch.Tensor:
    """Eigenvalues (float64, clamped at 0) of a factor, computed in float64 whatever the model's dtype:
    float32 LAPACK fails to converge on the ill-conditioned factors of a network trained at a high
    learning rate, and is far less accurate where the prior precision is small."""
    return torch.linalg.eigvalsh(factor.double()).clamp_min(0)


def _gather_rows(rows: torch.Tensor) -> torch.Tensor:
    """Every rank's ``(R_r, D)`` rows, concatenated in rank order (ranks may hold different ``R_r``)."""
    world = dist.get_world_size()
    counts = [torch.zeros(1, dtype=torch.int64, device=rows.device) for _ in range(world)]
    dist.all_gather(counts, torch.tensor([rows.shape[0]], dtype=torch.int64, device=rows.device))
    most = max(int(c) for c in counts)
    padded = torch.zeros(most, rows.shape[1], dtype=rows.dtype, device=rows.device)
    padded[: rows.shape[0]] = rows
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded)
    return torch.cat([part[: int(c)] for part, c in zip(parts, counts, strict=True)])


def _all_reduce(factors: list[Factors], fit: float, n_data: int) -> tuple[float, int]:
    """Sum the factors, their row counts, ``fit`` and ``n_data`` over the ranks of the default process
    group (in place for the factors); the rows kept for the Gram-matrix trick are gathered while all
    ranks together have at most half as many rows as dimensions (`gram_pays`), and dropped otherwise."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return fit, n_data
    kron = [f for f in factors if isinstance(f, LayerFactors)]
    device = next(p.device for p in factors[0].module.parameters())
    counts = torch.tensor([fit, n_data, *(f.rows for f in kron)], dtype=torch.float64, device=device)
    dist.all_reduce(counts)
    for factor in factors:
        if isinstance(factor, LayerFactors):
            sums = (factor.a_sum, factor.g_sum)
        else:
            sums = (factor.weight, factor.bias)
        for tensor in sums:
            if tensor is not None:
                dist.all_reduce(tensor)
    for factor, rows in zip(kron, counts[2:].tolist(), strict=True):
        factor.rows = int(rows)
        dim = factor.a_sum.shape[0] if factor.a_sum is not None else 0
        # few rows in all: every rank kept its rows (it has fewer still)
        kept = factor.kept
        factor.kept = [_gather_rows(torch.cat(kept))] if kept and gram_pays(factor.rows, dim) else None
    return float(counts[0]), int(counts[1])


class KronLaplace:
    """Kronecker-factored Laplace approximation over the parameters of ``model``: Kronecker factors for
    Linear, Conv2d, BlockLinear, LiftingConv2d and GroupConv2d layers, the exact GGN diagonal for
    BatchNorm2d and GroupBatchNorm2d (eval mode: running statistics).

    Parameters
    ----------
    model
        A network of those layers (and parameter-free modules) mapping ``x`` to ``(N, C)``; any other
        layer with trainable parameters is refused by name.
    likelihood
        A `Likelihood` or its string: ``"classification"`` (softmax cross-entropy, integer labels
        ``(N,)``) or ``"regression"`` (Gaussian, targets of the outputs' shape ``(N, C)``).
    ggn
        How the output Hessian enters the factors: ``"exact"`` (``C - 1`` backward passes per batch,
        ``C`` for regression) or ``"mc"`` (``mc_samples`` sampled labels or noise vectors per data point).
    mc_samples
        Samples per data point for ``ggn="mc"``.
    seed
        Seeds the Monte Carlo samples.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    >>> x, y = torch.randn(20, 3, dtype=torch.float64), torch.randint(0, 2, (20,))
    >>> la = KronLaplace(model, "classification")
    >>> la.fit([(x, y)])
    >>> la.parameter_groups
    ['0.weight', '0.bias', '2.weight', '2.bias']
    >>> log_delta = torch.zeros(4, requires_grad=True)
    >>> la.log_marginal_likelihood(log_delta.exp()).backward()
    >>> log_delta.grad.shape
    torch.Size([4])
    """

    model: nn.Module
    """The network (the caller's object; `fit` reads its current weights)."""
    likelihood: Likelihood
    """The `Likelihood`."""
    ggn: str
    """``"exact"`` or ``"mc"``: how the output Hessian enters the factors."""
    mc_samples: int
    """Samples per data point for ``ggn="mc"``."""
    seed: int
    """The seed of the Monte Carlo samples."""
    n_data: int
    """The data points `fit` saw (0 before it)."""
    n_outputs: int
    """``C``, the model's outputs per data point, as `fit` saw them (0 before it)."""

    def __init__(
        self,
        model: nn.Module,
        likelihood: Likelihood | str = Likelihood.CLASSIFICATION,
        ggn: str = GGN.EXACT,
        mc_samples: int = 1,
        seed: int = 0,
    ) -> None:
        check_module(model, "model")
        likelihood = Likelihood.parse(likelihood, "likelihood")
        ggn = GGN.parse(ggn, "ggn")
        mc_samples = integer(mc_samples, "mc_samples", minimum=1)
        seed = integer(seed, "seed", minimum=0)
        supported_layers(model)  # a model without Kronecker factors is refused now, not at fit
        self.model, self.likelihood, self.ggn, self.mc_samples, self.seed = (
            model,
            likelihood,
            ggn,
            mc_samples,
            seed,
        )
        self._groups: list[_Group] = []
        self._fit = math.nan
        self.n_data = 0
        self.n_outputs = 0

    @property
    def parameter_groups(self) -> list[str]:
        """The names of the parameter groups (one per parameter tensor), in the order of
        ``prior_precision``; available after `fit`."""
        return [g.name for g in self._groups]

    @property
    def num_params(self) -> list[int]:
        """Parameters per group."""
        return [g.numel for g in self._groups]

    def fit(self, loader: Iterable[Any], *, distributed: bool = False) -> None:
        """Accumulate the Kronecker factors over ``loader``'s ``(x, y)`` batches at the current weights
        and eigendecompose them.

        Parameters
        ----------
        loader
            ``(x, y)`` batches, on the model's device (the factors are accumulated there).
        distributed
            The loader yields this rank's share of the data: sum the factors, the data count and the
            log-likelihood over the ranks of the default process group before the eigendecompositions,
            so every rank gets the evidence of all the data (nothing to do without a process group).
            Every rank must call `fit` then.
        """
        distributed = flag(distributed, "distributed")
        factors, fit, n_data, n_outputs = accumulate_factors(
            self.model, loader, self.likelihood, self.ggn, self.mc_samples, self.seed
        )
        if distributed:
            fit, n_data = _all_reduce(factors, fit, n_data)
        groups = []
        for factor in factors:
            params = layer_parameters(factor.name, factor.module)
            if isinstance(factor, DiagonalFactors):
                diagonals = {"weight": factor.weight, "bias": factor.bias}
                for name, param in params:
                    diag = _diagonal(factor, diagonals[name.rsplit(".", 1)[-1]])
                    groups.append(_Group(name, param.numel(), _sq_norm(param), None, diag))
                continue
            if factor.g_sum is None:
                raise RuntimeError(f"no output gradients were recorded for {factor.name!r}")
            eig_g = _eigvalsh(factor.g_sum).cpu()  # batched for grouped layers
            eig_a = _eigenvalues(factor).cpu()
            for k, (name, param) in enumerate(params):  # the weight's block is A ⊗ G, the bias's G
                groups.append(_Group(name, param.numel(), _sq_norm(param), eig_a if k == 0 else None, eig_g))
        self._groups, self._fit, self.n_data, self.n_outputs = groups, fit, n_data, n_outputs

    def _check_fitted(self) -> None:
        if not self._groups:
            raise RuntimeError("call fit(loader) first")

    def _precisions(self, prior_precision: Any) -> torch.Tensor:
        count = len(self._groups)
        groups = ", ".join(self.parameter_groups)
        delta = _positive(prior_precision, "prior_precision", size=count, groups=groups)
        return delta.expand(count) if delta.dim() == 0 else delta

    def _noise(self, sigma_noise: Any) -> torch.Tensor:
        if self.likelihood is Likelihood.CLASSIFICATION:
            if sigma_noise is not None:
                raise ValueError("sigma_noise applies to regression only")
            return torch.ones((), dtype=torch.float64)
        if sigma_noise is None:
            return torch.ones((), dtype=torch.float64)
        return _positive(sigma_noise, "sigma_noise", scalar=True)

    def log_likelihood(self, sigma_noise: Any = None) -> torch.Tensor:
        """``log p(D | theta)`` at the fitted weights (differentiable in ``sigma_noise``)."""
        self._check_fitted()
        sigma = self._noise(sigma_noise)
        if self.likelihood is Likelihood.CLASSIFICATION:
            return torch.tensor(-self._fit, dtype=torch.float64)
        count = self.n_data * self.n_outputs
        return -self._fit / (2 * sigma**2) - count / 2 * torch.log(2 * math.pi * sigma**2)

    def log_det_posterior_precision(self, prior_precision: Any, sigma_noise: Any = None) -> torch.Tensor:
        """``log det(GGN_KFAC / sigma^2 + diag(delta))`` summed over the groups."""
        self._check_fitted()
        delta = self._precisions(prior_precision)
        scale = 1 / self._noise(sigma_noise) ** 2
        total = torch.zeros((), dtype=torch.float64)
        for k, group in enumerate(self._groups):
            if group.eig_a is None:
                total = total + torch.log(group.eig_g * scale + delta[k]).sum()
            else:
                total = total + _kron_logdet(group.eig_a, group.eig_g * scale, delta[k])
        return total

    def log_marginal_likelihood(self, prior_precision: Any, sigma_noise: Any = None) -> torch.Tensor:
        """The Laplace evidence, differentiable in ``prior_precision`` ``delta`` (a scalar or one entry per
        group of `parameter_groups`): ``log p(D | theta) - 1/2 sum_h delta_h |theta_h|^2 +
        1/2 sum_h P_h log delta_h - 1/2 log det(GGN + diag(delta))``, ``P_h`` the parameters of group h."""
        self._check_fitted()
        delta = self._precisions(prior_precision)
        numel = torch.tensor(self.num_params, dtype=torch.float64)
        sq_norms = torch.tensor([g.sq_norm for g in self._groups], dtype=torch.float64)
        log_prior_det = (numel * torch.log(delta)).sum()
        scatter = (delta * sq_norms).sum()
        return (
            self.log_likelihood(sigma_noise)
            - 0.5 * scatter
            + 0.5 * log_prior_det
            - 0.5 * self.log_det_posterior_precision(delta, sigma_noise)
        )
