"""Training with learned prior precisions: the online marginal-likelihood algorithm (Immer et al. 2021,
used by van der Ouderaa et al. 2023).

Weights take MAP steps on ``mean cross-entropy + 1/(2N) sum_h delta_h |theta_h|^2``. After ``burn_in``
epochs, every ``frequency`` epochs the Kronecker factors are fitted once (`KronLaplace.fit`) and
``hyper_steps`` Adam steps on ``log delta`` minimise ``-log p(D | delta) / N``, re-using the factors'
eigendecompositions. With ``learn_prior=False`` the same loop is plain MAP with fixed priors; it can
still record the evidence at the same epochs for comparison.

It runs as `eqlab.train.train` does: on the model's device, with metrics and checkpoints in a run folder
and an exact resume (the data order of epoch ``e`` is a function of ``(seed, e)``), and under
``torchrun`` with DistributedDataParallel for the MAP steps (each rank ``batch_size / W`` examples of
each global batch) and the factors, the data count and the log-likelihood summed over the ranks before
the marginal-likelihood step, so every rank learns the same precisions as one process would.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import BatchSampler, DataLoader, Dataset, TensorDataset

from eqlab._arguments import dataset, describe, flag, integer, real
from eqlab._arguments import module as check_module
from eqlab.bayes._curvature import layer_parameters, supported_layers
from eqlab.bayes._laplace import KronLaplace
from eqlab.bayes._options import GGN, Likelihood
from eqlab.runs._checkpoint import load_checkpoint, save_checkpoint
from eqlab.runs._folder import RunFolder
from eqlab.runs._progress import Progress
from eqlab.runs._seeding import seed_for
from eqlab.train._batchnorm import batchnorm_mode, check_per_rank, revert_sync_batchnorm, training_view
from eqlab.train._loop import check_unit, plain_settings, process_world, shuffled_loader

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


class _OnDevice:
    """``loader``'s ``(x, y)`` batches moved to ``device`` (anything else passes through, for
    `KronLaplace.fit` to name)."""

    def __init__(self, loader: DataLoader[Any], device: torch.device) -> None:
        self.loader, self.device = loader, device

    def __iter__(self) -> Iterator[Any]:
        for batch in self.loader:
            if isinstance(batch, (tuple, list)) and all(isinstance(t, torch.Tensor) for t in batch):
                yield type(batch)(t.to(self.device) for t in batch)
            else:
                yield batch


def _share(data: Dataset[Any], n_data: int, batch_size: int, rank: int, world: int) -> DataLoader[Any]:
    """This rank's share of ``data`` (examples ``rank, rank + W, ...``, in order, none repeated) for the
    fit of the factors."""
    indices = list(range(rank, n_data, world))
    if isinstance(data, TensorDataset):  # one fancy-index per batch
        return DataLoader(data, sampler=BatchSampler(indices, batch_size, drop_last=False), batch_size=None)
    return DataLoader(data, batch_size=batch_size, sampler=indices)


def train_marglik(
    model: nn.Module,
    data: Dataset[Any],
    settings: MarglikSettings,
    *,
    seed: int = 0,
    likelihood: Likelihood | str = Likelihood.CLASSIFICATION,
    run: RunFolder | None = None,
    unit: str = "marglik",
    config: dict[str, Any] | None = None,
    checkpoint_every: int = 1,
) -> dict[str, Any]:
    """Train ``model`` in place, learning one prior precision per parameter tensor, and return its history.

    Parameters
    ----------
    model
        A classifier of Linear, Conv2d and BlockLinear layers (and parameter-free modules) mapping a batch
        ``x`` to logits ``(N, C)``, on its device (batches and the factors' fit go there).
    data
        A dataset of ``(x, y)`` pairs, ``y`` the integer class label; under torchrun at least one example
        per rank.
    settings
        Epochs, optimisers and when to step the prior precisions (`MarglikSettings`); under torchrun
        ``batch_size`` is the global batch and must be divisible by the number of processes.
    seed
        Seeds the data order (epoch ``e``'s is a function of ``(seed, e)``) and the Monte Carlo curvature
        (``ggn="mc"``: each rank draws its own samples for its share of the data, so a distributed MC run
        is a different draw from a single-process one; ``"exact"`` has none).
    likelihood
        ``"classification"`` (the only one `train_marglik` trains; `KronLaplace` also takes
        ``"regression"``).
    run
        Where checkpoints and metrics go; without it nothing is written and nothing resumed. One line
        per epoch goes to metrics.jsonl: ``unit``, ``epoch``, ``train_loss``, ``log_marglik`` (when
        computed that epoch) and ``prior_precision_mean``/``_min``/``_max``.
    unit
        Name of this training job inside the run (checkpoint and metric key).
    config
        Embedded in every checkpoint, so a checkpoint documents itself.
    checkpoint_every
        Write a checkpoint to ``run.checkpoint_path(unit)`` every this many epochs and after the last
        one: the model, both optimisers, ``log delta``, the history, the epoch reached, the settings,
        ``config`` and ``unit`` (and the global RNG states). A run that finds one resumes exactly.

    Returns
    -------
    dict
        ``groups`` (parameter group names), ``prior_precision`` (final, per group), ``train_loss`` (per
        epoch, the MAP objective's mean over the examples), ``marglik`` (``[epoch, log evidence / N]``
        whenever it was computed).
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
    if run is not None and not isinstance(run, RunFolder):
        raise TypeError(f"run must be a RunFolder or None, got {describe(run)}")
    unit = check_unit(unit)
    if config is not None and not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict or None, got {describe(config)}")
    checkpoint_every = integer(checkpoint_every, "checkpoint_every", minimum=1)
    rank, world = process_world()
    if settings.batch_size % world:
        raise ValueError(f"batch_size {settings.batch_size} must be divisible by the world size {world}")
    if n_data < world:
        raise ValueError(f"data must hold at least one example per process ({world}), got {n_data}")
    device = next(model.parameters()).device
    loader, sampler = shuffled_loader(data, settings.batch_size, seed, rank, world)
    marglik_loader = _OnDevice(_share(data, n_data, settings.marglik_batch_size, rank, world), device)
    mode = batchnorm_mode(model)
    check_per_rank(model, mode)
    names = parameter_group_names(model)
    params = _group_parameters(model, names)
    log_delta = torch.full(
        (len(names),), math.log(settings.prior_precision), dtype=torch.float64, requires_grad=True
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    hyper_optimizer = torch.optim.Adam([log_delta], lr=settings.hyper_lr)
    history: dict[str, Any] = {"groups": names, "train_loss": [], "marglik": []}
    start = 0
    state = load_checkpoint(run.checkpoint_path(unit)) if run is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        with torch.no_grad():
            log_delta.copy_(state["log_delta"])
        hyper_optimizer.load_state_dict(state["hyper_optimizer"])
        history = {k: list(v) for k, v in state["history"].items()}
        start = int(state["epoch"])

    with training_view(model, mode) as net, Progress(settings.epochs, unit, completed=start) as bar:
        wrapped: nn.Module = DistributedDataParallel(net) if world > 1 else net
        for epoch in range(start + 1, settings.epochs + 1):
            sampler.set_epoch(epoch)
            wrapped.train()
            total = torch.zeros((), dtype=torch.float64, device=device)
            count = 0
            delta = log_delta.detach().exp()  # float64; each group's in its parameter's dtype below
            for x, y in loader:
                x, y = _pair(x, y, device)
                optimizer.zero_grad(set_to_none=True)
                penalty = sum(d.to(p) * p.pow(2).sum() for d, p in zip(delta, params, strict=True))
                loss = _cross_entropy(wrapped, x, y) + 0.5 * penalty / n_data
                loss.backward()
                optimizer.step()
                total += loss.detach().double() * len(y)
                count += len(y)
            if world > 1:
                packed = torch.stack([total, torch.tensor(float(count), dtype=torch.float64, device=device)])
                dist.all_reduce(packed)
                total, count = packed[0], int(packed[1])
            history["train_loss"].append(float(total) / max(count, 1))
            metrics: dict[str, Any] = {"train_loss": history["train_loss"][-1]}
            due = epoch > settings.burn_in and (epoch - settings.burn_in) % settings.frequency == 0
            if due and (settings.learn_prior or settings.track_marglik):
                revert_sync_batchnorm(net)  # the model's own modules hold the current state
                value = _marglik_step(
                    model, marglik_loader, settings, log_delta, hyper_optimizer, seed, epoch
                )
                history["marglik"].append([epoch, value])
                metrics["log_marglik"] = value
            precisions = log_delta.detach().exp()
            if run is not None:
                run.log_metrics(
                    unit=unit,
                    epoch=epoch,
                    **metrics,
                    prior_precision_mean=float(precisions.mean()),
                    prior_precision_min=float(precisions.min()),
                    prior_precision_max=float(precisions.max()),
                )
            bar.advance()
            if run is not None and run.writes and (epoch == settings.epochs or epoch % checkpoint_every == 0):
                revert_sync_batchnorm(net)
                save_checkpoint(
                    run.checkpoint_path(unit),
                    {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "hyper_optimizer": hyper_optimizer.state_dict(),
                        "log_delta": log_delta.detach().clone(),
                        "history": history,
                        "epoch": epoch,
                        "settings": plain_settings(settings),
                        "config": config,
                        "unit": unit,
                    },
                )
    history["prior_precision"] = log_delta.detach().exp().tolist()
    return history


def _marglik_step(
    model: nn.Module,
    loader: _OnDevice,
    settings: MarglikSettings,
    log_delta: torch.Tensor,
    hyper_optimizer: torch.optim.Optimizer,
    seed: int,
    epoch: int,
) -> float:
    """One fit of the factors (over all ranks' shares) and ``hyper_steps`` Adam steps on ``log delta``;
    returns the log evidence / N at the precisions reached."""
    rank, world = process_world()
    mc_seed = seed_for(seed, "marglik", "mc", epoch, rank)  # each rank its own samples of its examples
    if world > 1:  # batch norms' running statistics, which the fit reads, as DDP would broadcast them
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)
    laplace = KronLaplace(model, Likelihood.CLASSIFICATION, ggn=settings.ggn, seed=mc_seed)
    laplace.fit(loader, distributed=True)
    if settings.learn_prior:
        for _ in range(settings.hyper_steps):
            hyper_optimizer.zero_grad()
            objective = -laplace.log_marginal_likelihood(log_delta.exp()) / laplace.n_data
            objective.backward()
            hyper_optimizer.step()
    with torch.no_grad():
        return float(laplace.log_marginal_likelihood(log_delta.exp())) / laplace.n_data


def parameter_group_names(model: nn.Module) -> list[str]:
    """The parameter groups `KronLaplace` uses, without fitting: the trainable weight and bias of every
    layer it supports (Linear, Conv2d, BlockLinear, LiftingConv2d, GroupConv2d, batch norm), in module
    order."""
    return [name for layer, module in supported_layers(model) for name, _ in layer_parameters(layer, module)]


def _pair(x: Any, y: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """One ``(x, y)`` batch of ``data``, on ``device``."""
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"data must hold (x, y) pairs of tensors, got {describe(x)} and {describe(y)}")
    return x.to(device), y.to(device)


def _cross_entropy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean cross-entropy of one batch of ``data``; a batch the model cannot take, or labels that
    are not classes of its outputs, name ``data``."""
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
