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

from eqlab._arguments import dataset, describe, flag, integer, real
from eqlab._arguments import module as check_module
from eqlab.bayes._curvature import supported_layers
from eqlab.bayes._laplace import KronLaplace
from eqlab.bayes._options import GGN, Likelihood

__all__ = ["MarglikSettings", "parameter_group_names", "train_marglik"]


@dataclass(frozen=True)
class MarglikSettings:
    """Epochs and optimisers for the weights and the prior precisions of `train_marglik`.

    Examples
    --------
    >>> MarglikSettings(epochs=20, burn_in=5, frequency=5).ggn
    <GGN.EXACT: 'exact'>
    """

    epochs: int
    """Epochs of MAP training of the weights."""
    batch_size: int = 64
    """The batch size of MAP training."""
    lr: float = 1e-3
    """Adam's learning rate for the weights."""
    learn_prior: bool = True
    """Learn the prior precisions by the marginal likelihood; ``False`` keeps them fixed (plain MAP)."""
    prior_precision: float = 1.0
    """The initial prior precision ``delta`` of every parameter tensor."""
    burn_in: int = 5
    """Epochs before the first marginal-likelihood step."""
    frequency: int = 5
    """Epochs between two marginal-likelihood steps."""
    hyper_steps: int = 20
    """Adam steps on ``log delta`` per marginal-likelihood step."""
    hyper_lr: float = 0.1
    """Adam's learning rate for the steps on ``log delta``."""
    ggn: str = GGN.EXACT
    """``"exact"`` or ``"mc"``: how `KronLaplace` computes the curvature."""
    marglik_batch_size: int = 256
    """The batch size of the data pass that fits the Kronecker factors."""
    track_marglik: bool = True
    """Record the log evidence at the same epochs even when ``learn_prior`` is False."""

    def __post_init__(self) -> None:
        checked = {
            "epochs": integer(self.epochs, "epochs", minimum=1),
            "batch_size": integer(self.batch_size, "batch_size", minimum=1),
            "lr": real(self.lr, "lr", positive=True),
            "learn_prior": flag(self.learn_prior, "learn_prior"),
            "prior_precision": real(self.prior_precision, "prior_precision", positive=True),
            "burn_in": integer(self.burn_in, "burn_in", minimum=0),
            "frequency": integer(self.frequency, "frequency", minimum=1),
            "hyper_steps": integer(self.hyper_steps, "hyper_steps", minimum=0),
            "hyper_lr": real(self.hyper_lr, "hyper_lr", positive=True),
            "ggn": GGN.parse(self.ggn, "ggn"),
            "marglik_batch_size": integer(self.marglik_batch_size, "marglik_batch_size", minimum=1),
            "track_marglik": flag(self.track_marglik, "track_marglik"),
        }
        for name, value in checked.items():  # plain Python values (numpy ones would pass through)
            object.__setattr__(self, name, value)


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
    likelihood: Likelihood | str = Likelihood.CLASSIFICATION,
) -> dict[str, Any]:
    """Train ``model`` in place, learning one prior precision per parameter tensor, and return its history.

    Parameters
    ----------
    model
        A classifier of Linear, Conv2d and BlockLinear layers (and parameter-free modules) mapping a batch
        ``x`` to logits ``(N, C)``.
    data
        A dataset of ``(x, y)`` pairs, ``y`` the integer class label.
    settings
        Epochs, optimisers and when to step the prior precisions (`MarglikSettings`).
    seed
        Seeds the data order and the Monte Carlo curvature.
    likelihood
        ``"classification"`` (the only one `train_marglik` trains; `KronLaplace` also takes
        ``"regression"``).

    Returns
    -------
    dict
        ``groups`` (parameter group names), ``prior_precision`` (final, per group), ``train_loss`` (per
        epoch), ``marglik`` (``[epoch, log evidence / N]`` whenever it was computed).
    """
    check_module(model, "model")
    supported_layers(model)
    n_data = dataset(data, "data")
    if not isinstance(settings, MarglikSettings):
        raise TypeError(f"settings must be a MarglikSettings, got {describe(settings)}")
    seed = integer(seed, "seed", minimum=0)
    likelihood = Likelihood.parse(likelihood, "likelihood")
    if likelihood is not Likelihood.CLASSIFICATION:
        raise ValueError("train_marglik trains classifiers (likelihood='classification')")
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
            loss = _cross_entropy(model, x, y) + 0.5 * penalty / n_data
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
    Conv2d and BlockLinear layer, in module order."""
    out = []
    for name, module in supported_layers(model):
        prefix = f"{name}." if name else ""
        out.append(prefix + "weight")
        if isinstance(module.bias, torch.Tensor) and module.bias.requires_grad:
            out.append(prefix + "bias")
    return out


def _cross_entropy(model: nn.Module, x: Any, y: Any) -> torch.Tensor:
    """The mean cross-entropy of one batch of ``data``; a batch the model cannot take, or labels that
    are not classes of its outputs, name ``data``."""
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"data must hold (x, y) pairs of tensors, got {describe(x)} and {describe(y)}")
    try:
        logits = model(x)
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(f"data: the model cannot take the batch {describe(x)}: {exc}") from exc
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise ValueError(f"model must output (batch, classes) logits, got {describe(logits)}")
    if y.dim() != 1 or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"data must hold 1-D integer class labels, got {describe(y)}")
    if int(y.min()) < 0 or int(y.max()) >= logits.shape[1]:
        raise ValueError(
            f"data must hold labels in 0..{logits.shape[1] - 1} (the model's classes), "
            f"got {int(y.min())}..{int(y.max())}"
        )
    return F.cross_entropy(logits, y)
