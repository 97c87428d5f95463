"""`KronLaplace`: a Kronecker-factored Laplace approximation and its differentiable marginal likelihood.

The evidence of a network with weights ``theta`` at a mode, a Gaussian prior ``N(0, 1 / delta_h)`` per
parameter tensor ``h`` (a *parameter group*) and the posterior precision ``GGN + diag(delta)``:

    log p(D | delta) ≈ log p(D | theta) - 1/2 sum_h delta_h |theta_h|^2 + 1/2 sum_h P_h log delta_h
                       - 1/2 log det(GGN + diag(delta)),

the terms of laplace-torch's ``log_marginal_likelihood`` (the 2 pi constants cancel). With the GGN
block of each group Kronecker-factored, ``A ⊗ G`` for a weight and ``G`` for a bias, the log
determinant is ``sum_ij log(lambda^A_i lambda^G_j / sigma^2 + delta_h)`` from the factors' eigenvalues,
computed once per `fit`; every later evaluation is a few tensor operations, differentiable in
``delta`` (and ``sigma`` for regression). A factor larger than its number of input rows gets its
eigenvalues from the (smaller) Gram matrix of the rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from eqlab.bayes.curvature import LIKELIHOODS, LayerFactors, accumulate_factors

__all__ = ["KronLaplace", "kron_logdet"]


def kron_logdet(eig_a: torch.Tensor, eig_g: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """``log det(A ⊗ G + delta I)`` from the eigenvalues of ``A`` and ``G`` (``(D,)`` each, or
    ``(groups, D)`` for a block-diagonal sum of Kronecker products)."""
    return torch.log(eig_a[..., :, None] * eig_g[..., None, :] + delta).sum()


@dataclass
class _Group:
    name: str
    numel: int
    sq_norm: float
    eig_a: torch.Tensor | None  # None for a bias: its block is G alone
    eig_g: torch.Tensor


def _eigenvalues(factor: LayerFactors) -> torch.Tensor:
    """Eigenvalues of ``A = A_sum / rows`` (float64), by the Gram matrix when rows < dimension."""
    if factor.a_sum is None:
        raise RuntimeError(f"no inputs were recorded for {factor.name!r}")
    dim = factor.a_sum.shape[0]
    if factor.kept is not None and factor.rows < dim:
        rows = torch.cat(factor.kept)
        small = torch.linalg.eigvalsh(rows @ rows.T / factor.rows)
        return torch.cat([small, torch.zeros(dim - small.numel(), dtype=small.dtype)]).clamp_min(0)
    return torch.linalg.eigvalsh(factor.a_sum / factor.rows).clamp_min(0)


class KronLaplace:
    """Kronecker-factored Laplace approximation over all Linear and Conv2d parameters of ``model``.

    Parameters
    ----------
    model
        A network of Linear and Conv2d layers (and parameter-free modules) mapping ``x`` to ``(N, C)``.
    likelihood
        ``"classification"`` (softmax cross-entropy) or ``"regression"`` (Gaussian).
    ggn
        ``"exact"`` (``C`` backward passes per batch) or ``"mc"`` (sampled labels / noise).
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

    def __init__(
        self,
        model: nn.Module,
        likelihood: str = "classification",
        ggn: str = "exact",
        mc_samples: int = 1,
        seed: int = 0,
    ) -> None:
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if ggn not in ("exact", "mc"):
            raise ValueError(f"ggn must be 'exact' or 'mc', got {ggn!r}")
        if mc_samples < 1:
            raise ValueError(f"mc_samples must be >= 1, got {mc_samples}")
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

    def fit(self, loader: Iterable[Any]) -> None:
        """Accumulate the Kronecker factors over ``loader``'s ``(x, y)`` batches at the current weights
        and eigendecompose them."""
        factors, fit, n_data, n_outputs = accumulate_factors(
            self.model, loader, self.likelihood, self.ggn, self.mc_samples, self.seed
        )
        groups = []
        for factor in factors:
            if factor.g_sum is None:
                raise RuntimeError(f"no output gradients were recorded for {factor.name!r}")
            eig_g = torch.linalg.eigvalsh(factor.g_sum).clamp_min(0)  # batched for grouped layers
            eig_a = _eigenvalues(factor)
            prefix = f"{factor.name}." if factor.name else ""
            weight = factor.module.weight
            groups.append(
                _Group(
                    prefix + "weight",
                    weight.numel(),
                    float(weight.detach().double().pow(2).sum()),
                    eig_a,
                    eig_g,
                )
            )
            bias = factor.module.bias
            if isinstance(bias, torch.Tensor) and bias.requires_grad:
                groups.append(
                    _Group(
                        prefix + "bias", bias.numel(), float(bias.detach().double().pow(2).sum()), None, eig_g
                    )
                )
        self._groups, self._fit, self.n_data, self.n_outputs = groups, fit, n_data, n_outputs

    def _check_fitted(self) -> None:
        if not self._groups:
            raise RuntimeError("call fit(loader) first")

    def _precisions(self, prior_precision: Any) -> torch.Tensor:
        delta = torch.as_tensor(prior_precision, dtype=torch.float64)
        if delta.dim() == 0:
            delta = delta.expand(len(self._groups))
        if delta.shape != (len(self._groups),):
            raise ValueError(
                "prior_precision must be a scalar or have one entry per parameter group "
                f"({len(self._groups)}: {', '.join(self.parameter_groups)}), got shape {tuple(delta.shape)}"
            )
        return delta

    def _noise(self, sigma_noise: Any) -> torch.Tensor:
        if self.likelihood == "classification":
            if sigma_noise is not None:
                raise ValueError("sigma_noise applies to regression only")
            return torch.ones((), dtype=torch.float64)
        return torch.as_tensor(1.0 if sigma_noise is None else sigma_noise, dtype=torch.float64)

    def log_likelihood(self, sigma_noise: Any = None) -> torch.Tensor:
        """``log p(D | theta)`` at the fitted weights (differentiable in ``sigma_noise``)."""
        self._check_fitted()
        sigma = self._noise(sigma_noise)
        if self.likelihood == "classification":
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
                total = total + kron_logdet(group.eig_a, group.eig_g * scale, delta[k])
        return total

    def log_marginal_likelihood(self, prior_precision: Any, sigma_noise: Any = None) -> torch.Tensor:
        """The Laplace evidence (module docstring); ``prior_precision`` a scalar or one entry per group."""
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
