"""Training with learned prior precisions: the online marginal-likelihood algorithm (Immer et al. 2021,
used by van der Ouderaa et al. 2023).

Weights take MAP steps on ``mean cross-entropy + 1/(2N) sum_h delta_h |theta_h|^2``. After ``burn_in``
epochs, every ``frequency`` epochs the Kronecker factors are fitted once (`KronLaplace.fit`) and
``hyper_steps`` Adam steps on ``log delta`` minimise ``-log p(D | delta) / N``, re-using the factors'
eigendecompositions. With ``learn_prior=False`` the same loop is plain MAP with fixed priors; it can
still record the evidence at the same epochs for comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from eqlab.bayes.curvature import supported_layers
from eqlab.bayes.laplace import KronLaplace

__all__ = ["MarglikSettings", "parameter_group_names", "train_marglik"]


@dataclass(frozen=True)
class MarglikSettings:
    """Epochs and optimisers for weights and prior precisions."""

    epochs: int
    batch_size: int = 64
    lr: float = 1e-3
    learn_prior: bool = True
    prior_precision: float = 1.0
    burn_in: int = 5
    frequency: int = 5
    hyper_steps: int = 20
    hyper_lr: float = 0.1
    ggn: str = "exact"
    marglik_batch_size: int = 256
    track_marglik: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.frequency < 1 or self.hyper_steps < 0:
            raise ValueError(
                f"epochs, batch_size and frequency must be >= 1 and hyper_steps >= 0, got {self}"
            )
        if self.prior_precision <= 0:
            raise ValueError(f"prior_precision must be positive, got {self.prior_precision}")


def _group_parameters(model: nn.Module, names: list[str]) -> list[nn.Parameter]:
    params = dict(model.named_parameters())
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"parameter groups {missing} are not parameters of the model")
    return [params[n] for n in names]


def train_marglik(
    model: nn.Module,
    data: Dataset[Any],
    settings: MarglikSettings,
    *,
    seed: int = 0,
    likelihood: str = "classification",
) -> dict[str, Any]:
    """Train ``model`` in place and return its history.

    Returns
    -------
    dict
        ``groups`` (parameter group names), ``prior_precision`` (final, per group), ``train_loss`` (per
        epoch), ``marglik`` (``[epoch, log evidence / N]`` whenever it was computed).
    """
    if likelihood != "classification":
        raise ValueError("train_marglik trains classifiers (likelihood='classification')")
    n_data = len(data)  # type: ignore[arg-type]
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(data, batch_size=settings.batch_size, shuffle=True, generator=generator)
    marglik_loader = DataLoader(data, batch_size=settings.marglik_batch_size)
    names = parameter_group_names(model)
    params = _group_parameters(model, names)
    log_delta = torch.full(
        (len(names),), math.log(settings.prior_precision), dtype=torch.float64, requires_grad=True
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    hyper_optimizer = torch.optim.Adam([log_delta], lr=settings.hyper_lr)
    history: dict[str, Any] = {"groups": names, "train_loss": [], "marglik": []}
    for epoch in range(1, settings.epochs + 1):
        model.train()
        total = 0.0
        delta = log_delta.detach().exp().float()
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            penalty = sum(d * p.pow(2).sum() for d, p in zip(delta, params, strict=True))
            loss = F.cross_entropy(model(x), y) + 0.5 * penalty / n_data
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(y)
        history["train_loss"].append(total / n_data)
        due = epoch > settings.burn_in and (epoch - settings.burn_in) % settings.frequency == 0
        if due and (settings.learn_prior or settings.track_marglik):
            laplace = KronLaplace(model, likelihood, ggn=settings.ggn, seed=seed + epoch)
            laplace.fit(marglik_loader)
            if settings.learn_prior:
                for _ in range(settings.hyper_steps):
                    hyper_optimizer.zero_grad()
                    objective = -laplace.log_marginal_likelihood(log_delta.exp()) / n_data
                    objective.backward()
                    hyper_optimizer.step()
            with torch.no_grad():
                value = float(laplace.log_marginal_likelihood(log_delta.exp())) / n_data
            history["marglik"].append([epoch, value])
    history["prior_precision"] = log_delta.detach().exp().tolist()
    return history


def parameter_group_names(model: nn.Module) -> list[str]:
    """The parameter groups `KronLaplace` uses, without fitting: the weight and bias of every Linear,
    Conv2d and GroupedLinear layer, in module order."""
    out = []
    for name, module in supported_layers(model):
        prefix = f"{name}." if name else ""
        out.append(prefix + "weight")
        if isinstance(module.bias, torch.Tensor) and module.bias.requires_grad:
            out.append(prefix + "bias")
    return out
