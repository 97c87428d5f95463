"""The shared training loop: plain PyTorch, resumable, and unchanged under ``torchrun``.

Under ``torchrun`` (a process group initialised, see `eqlab.train._distributed`) the model is wrapped in
`DistributedDataParallel` and the data split with a `DistributedSampler`; every rank sees
``batch_size / world_size`` examples of each global batch, so gradients (averaged by DDP) equal
those of one process with the same global batch. Without a process group the same sampler runs with
one replica, so the global batches are the same sets of examples either way.

Batch norm under a process group (`eqlab.train._batchnorm`): on CUDA the loop trains a view of the model
with `SyncBatchNorm` (statistics over the global batch) and copies its state back into the model's own
batch-norm modules before every checkpoint and on return; on CPU or gloo, where `SyncBatchNorm` cannot
run, it keeps per-rank batch statistics. The caller's model keeps its module classes either way, and the
history says which (``history["batchnorm"]``).

Checkpoints are written every ``checkpoint_every`` epochs and after the last one (the trained
model stays in the run folder); they hold the model, optimiser, scheduler,
RNG states (global ones and the augmentation generator) and the epoch reached; the data order of
epoch ``e`` is a function of ``(seed, e)``, so a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import BatchSampler, DataLoader, Dataset, DistributedSampler, TensorDataset

from eqlab._arguments import dataset, describe, function, integer, real, string
from eqlab._arguments import module as check_module
from eqlab.runs._checkpoint import load_checkpoint, save_checkpoint
from eqlab.runs._folder import RunFolder
from eqlab.runs._progress import Progress
from eqlab.train._batchnorm import batchnorm_mode, check_per_rank, revert_sync_batchnorm, training_view
from eqlab.train._options import Optimizer, Schedule

__all__ = ["TrainSettings", "check_unit", "plain_settings", "process_world", "shuffled_loader", "train"]

log = logging.getLogger(__name__)

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class TrainSettings:
    """How `train` trains: epochs, global batch size, optimiser and schedule.

    Examples
    --------
    >>> TrainSettings(epochs=3, batch_size=64, optimizer="sgd").optimizer
    <Optimizer.SGD: 'sgd'>
    """

    epochs: int
    """Passes over the training set."""
    batch_size: int
    """The global batch size: under torchrun each of the ``W`` processes takes ``batch_size / W``."""
    lr: float = 1e-3
    """The learning rate."""
    optimizer: str = Optimizer.ADAM
    """An `Optimizer` or its string: ``"adam"`` or ``"sgd"`` (with ``momentum``)."""
    momentum: float = 0.9
    """SGD's momentum, in [0, 1]."""
    weight_decay: float = 0.0
    """The optimiser's L2 weight decay."""
    schedule: str = Schedule.COSINE
    """A `Schedule` or its string: ``"cosine"`` (annealed to 0 over all steps) or ``"constant"``."""
    checkpoint_every: int = 1
    """Write a checkpoint every this many epochs (and after the last one)."""

    def __post_init__(self) -> None:
        checked = {
            "epochs": integer(self.epochs, "epochs", minimum=1),
            "batch_size": integer(self.batch_size, "batch_size", minimum=1),
            "lr": real(self.lr, "lr", positive=True),
            "optimizer": Optimizer.parse(self.optimizer, "optimizer"),
            "momentum": real(self.momentum, "momentum", minimum=0.0, maximum=1.0),
            "weight_decay": real(self.weight_decay, "weight_decay", minimum=0.0),
            "schedule": Schedule.parse(self.schedule, "schedule"),
            "checkpoint_every": integer(self.checkpoint_every, "checkpoint_every", minimum=1),
        }
        for name, value in checked.items():  # plain Python numbers (numpy ones would pass through), members
            object.__setattr__(self, name, value)


RESERVED = frozenset(
    ("model", "optimizer", "scheduler", "generator", "history", "epoch", "settings", "config", "unit", "rng")
)
"""Checkpoint entries that `train` writes itself; ``checkpoint_extra`` may not replace them."""


def check_unit(unit: Any) -> str:
    """``unit`` as a plain name (it names a checkpoint file), else a ValueError or TypeError naming it."""
    unit = string(unit, "unit")
    if any(sep in unit for sep in ("/", "\\")) or unit in (".", ".."):
        raise ValueError(f"unit must be a plain name (it names a checkpoint file), got {unit!r}")
    return unit


def _check_extra(extra: Any) -> dict[str, Any]:
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise TypeError(f"checkpoint_extra must be a dict or None, got {describe(extra)}")
    clash = sorted(str(k) for k in extra if k in RESERVED)
    if clash:
        raise ValueError(
            "checkpoint_extra must not replace the entries train writes itself "
            f"({', '.join(sorted(RESERVED))}), got {clash}"
        )
    return dict(extra)


def process_world() -> tuple[int, int]:
    """``(rank, world size)`` of the default process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def plain_settings(settings: Any) -> dict[str, Any]:
    """A settings dataclass as plain Python values (options as their strings), for checkpoints."""
    return {k: v.value if isinstance(v, Enum) else v for k, v in asdict(settings).items()}


def _optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    if settings.optimizer is Optimizer.ADAM:
        return torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay
    )


def _scheduler(optimizer: torch.optim.Optimizer, settings: TrainSettings, steps: int) -> Any:
    if settings.schedule is Schedule.COSINE:
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)


def shuffled_loader(
    data: Dataset[Any], batch_size: int, seed: int, rank: int, world: int
) -> tuple[DataLoader[Any], DistributedSampler[Any]]:
    """This rank's batches of ``batch_size / world`` examples, and the sampler whose ``set_epoch(e)`` makes
    epoch ``e``'s order, a function of ``(seed, e)``: the ranks' batches ``k`` together are the global
    batch ``k`` of one process with the same seed (a `TensorDataset` is indexed once per batch)."""
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=seed)  # type: ignore[var-annotated]
    local_batch = batch_size // world
    if isinstance(data, TensorDataset):  # one fancy-index per batch instead of one call per example
        loader: DataLoader[Any] = DataLoader(
            data, sampler=BatchSampler(sampler, local_batch, drop_last=False), batch_size=None
        )
    else:
        loader = DataLoader(data, batch_size=local_batch, sampler=sampler)
    return loader, sampler


def train(
    model: nn.Module,
    data: Dataset[Any],
    settings: TrainSettings,
    *,
    loss_fn: LossFn,
    seed: int,
    run: RunFolder | None = None,
    unit: str = "train",
    augment: Augment | None = None,
    config: dict[str, Any] | None = None,
    checkpoint_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``model`` in place on ``data`` (a dataset of ``(x, y)`` pairs) and return its history.

    Parameters
    ----------
    model
        The model, already on its device and initialised (seed it before building it).
    data
        Training set; its length should be divisible by ``settings.batch_size`` under DDP.
    settings
        Epochs, batch size, optimiser and schedule.
    loss_fn
        ``loss_fn(outputs, targets)``, a mean over the batch.
    seed
        Seeds the data order and the augmentation generator.
    run
        Where checkpoints and metrics go; without it nothing is written and nothing resumed.
    unit
        Name of this training job inside the run (checkpoint and metric key).
    augment
        ``augment(x, generator) -> x``, applied to each batch (e.g. a random group element per example).
    config
        Embedded in every checkpoint, so a checkpoint documents itself.
    checkpoint_extra
        More entries for every checkpoint, e.g. ``builder`` (``"module:function"``) and
        ``builder_kwargs``, which let ``eqlab exactness CHECKPOINT --allow-pickle`` (and ``eqlab audit``)
        rebuild the model. A checkpoint holds numpy's RNG state, so it is a pickle: loading a pickle runs
        code from the file (and the builder it names is imported and called), hence ``--allow-pickle``,
        only for checkpoints you trust.

    Returns
    -------
    dict
        ``{"train_loss": [per-epoch mean loss], "epochs": n, "batchnorm": mode}``, the mode a
        `BatchNormMode` string: ``"no batch norm"``, ``"single process"``, ``"per-rank statistics"`` (under
        torchrun on CPU or gloo: each rank normalises by its local batch, the saved running statistics
        are rank 0's) or ``"synchronised"`` (under torchrun on CUDA: trained as `SyncBatchNorm`, the model
        keeps its own batch-norm classes).
    """
    check_module(model, "model")
    if next(model.parameters(), None) is None:
        raise ValueError(f"model must have parameters to train, got a {type(model).__name__} without any")
    dataset(data, "data")
    if not isinstance(settings, TrainSettings):
        raise TypeError(f"settings must be a TrainSettings, got {describe(settings)}")
    function(loss_fn, "loss_fn")
    seed = integer(seed, "seed", minimum=0)
    if run is not None and not isinstance(run, RunFolder):
        raise TypeError(f"run must be a RunFolder or None, got {describe(run)}")
    unit = check_unit(unit)
    if augment is not None:
        function(augment, "augment")
    if config is not None and not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict or None, got {describe(config)}")
    extra = _check_extra(checkpoint_extra)
    rank, world = process_world()
    if settings.batch_size % world:
        raise ValueError(f"batch_size {settings.batch_size} must be divisible by the world size {world}")
    device = next(model.parameters()).device
    loader, sampler = shuffled_loader(data, settings.batch_size, seed, rank, world)
    mode = batchnorm_mode(model)
    check_per_rank(model, mode)
    optimizer = _optimizer(model, settings)
    scheduler = _scheduler(optimizer, settings, settings.epochs * len(loader))
    generator = torch.Generator().manual_seed(seed)
    history: list[float] = []
    start = 0
    state = load_checkpoint(run.checkpoint_path(unit)) if run is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        history, start = list(state["history"]), int(state["epoch"])
        log.info("%s: resumed from epoch %d", unit, start)

    # on CUDA the view has SyncBatchNorm (the global batch's statistics, as in one process)
    with (
        training_view(model, mode) as net,
        Progress(total=settings.epochs, description=unit, completed=start) as bar,
    ):
        wrapped: nn.Module = DistributedDataParallel(net) if world > 1 else net
        for epoch in range(start, settings.epochs):
            sampler.set_epoch(epoch)
            wrapped.train()
            total, count = torch.zeros((), dtype=torch.float64, device=device), 0
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                if augment is not None:
                    x = _augmented(augment, x, generator)
                loss = _loss(loss_fn, _forward(wrapped, x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += loss.detach().double() * len(x)
                count += len(x)
            if world > 1:
                packed = torch.stack([total, torch.tensor(float(count), dtype=torch.float64, device=device)])
                dist.all_reduce(packed)
                total, count = packed[0], int(packed[1])
            mean_loss = float(total) / max(count, 1)
            history.append(mean_loss)
            if run is not None:
                run.log_metrics(
                    unit=unit, epoch=epoch + 1, train_loss=mean_loss, lr=scheduler.get_last_lr()[0]
                )
            bar.advance()
            last = epoch + 1 == settings.epochs
            if run is not None and run.writes and (last or (epoch + 1) % settings.checkpoint_every == 0):
                revert_sync_batchnorm(net)  # the view's state into the model's own modules
                save_checkpoint(
                    run.checkpoint_path(unit),
                    {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "generator": generator.get_state(),
                        "history": history,
                        "epoch": epoch + 1,
                        "settings": plain_settings(settings),
                        "config": config,
                        "unit": unit,
                        **extra,
                    },
                )
    if not all(math.isfinite(v) for v in history):
        log.warning("%s: the training loss became non-finite", unit)
    return {"train_loss": history, "epochs": settings.epochs, "batchnorm": mode.value}


def _augmented(augment: Augment, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    out = augment(x, generator)
    if not isinstance(out, torch.Tensor) or out.shape[:1] != x.shape[:1]:
        raise ValueError(
            f"augment must return a tensor of the batch's {x.shape[0]} examples, got {describe(out)} "
            f"for a batch {describe(x)}"
        )
    return out


def _forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    try:
        return model(x)
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(f"data: the model cannot take a batch of inputs {describe(x)}: {exc}") from exc


def _loss(loss_fn: LossFn, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    try:
        loss = loss_fn(outputs, targets)
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(
            f"loss_fn failed on the model's outputs {describe(outputs)} and the targets {describe(targets)} "
            f"from data: {exc}"
        ) from exc
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"loss_fn must return a scalar tensor (the batch mean), got {describe(loss)}")
    return loss
