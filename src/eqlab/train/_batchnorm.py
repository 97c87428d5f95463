"""Batch norm under ``torchrun``: synchronised on CUDA, per-rank statistics on CPU, and the caller's
module tree left as it was.

`SyncBatchNorm` computes batch statistics over the global batch, but only on GPUs (its forward refuses
CPU tensors under a process group, and gloo has no kernel for it). So the training loops ask
`batchnorm_mode`:

- ``"synchronised"`` (CUDA parameters and a backend other than gloo): they train `sync_batchnorm`'s
  view of the model, a module tree that shares the model's parameters and buffers but has a
  `SyncBatchNorm` wherever the model has a batch norm, and `revert_sync_batchnorm` copies its state back
  into the model's own batch-norm modules before every checkpoint and on return;
- ``"per-rank statistics"`` (CPU, or gloo): the model trains unconverted, each rank normalising its
  local batch of ``batch_size / world`` examples by that batch's statistics. DDP broadcasts rank 0's
  buffers before each forward pass, so the running statistics that rank 0 saves are rank 0's;
- ``"single process"`` (no process group, or a world of one) and ``"no batch norm"``: nothing to do.

The caller's model is never restructured: its modules keep their classes, and the trained state is in
its own parameters and buffers, so later analyses that refuse `SyncBatchNorm` see the model they built.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from eqlab._arguments import describe
from eqlab._arguments import module as check_module
from eqlab._options import Option

__all__ = [
    "BatchNormMode",
    "batchnorm_mode",
    "check_per_rank",
    "mode_for",
    "revert_sync_batchnorm",
    "sync_batchnorm",
    "training_view",
]

_ORIGINAL = "_eqlab_replaces"
"""The attribute (outside ``_modules``, so not a submodule) by which a module of `sync_batchnorm`'s tree
names the caller's module it stands for."""


class BatchNormMode(Option):
    """How a training loop treats batch norm, as `batchnorm_mode` decides and the history records."""

    NONE = "no batch norm"
    """The model has no batch-norm module."""
    SINGLE = "single process"
    """No process group (or a world of one): batch statistics over the whole batch, as usual."""
    PER_RANK = "per-rank statistics"
    """Under a process group on CPU or gloo: each rank normalises by its local batch's statistics;
    the running statistics saved are rank 0's."""
    SYNCHRONISED = "synchronised"
    """Under a process group on CUDA: trained as `SyncBatchNorm` (statistics of the global batch),
    converted back to the model's own batch-norm classes before saving and on return."""


def _device(model: nn.Module) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def batchnorm_mode(model: nn.Module) -> BatchNormMode:
    """How `eqlab.train.train` and `eqlab.bayes.train_marglik` treat ``model``'s batch norm in this process.

    Parameters
    ----------
    model
        The model, on its device (its first parameter's device decides).

    Returns
    -------
    BatchNormMode
        ``"no batch norm"`` without a batch-norm module; ``"single process"`` without a process group of
        more than one rank; ``"synchronised"`` on CUDA with a backend other than gloo; else
        ``"per-rank statistics"``.

    Examples
    --------
    >>> str(batchnorm_mode(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))))
    'single process'
    """
    check_module(model, "model")
    if not any(isinstance(m, _BatchNorm) for m in model.modules()):
        return BatchNormMode.NONE
    if not (dist.is_available() and dist.is_initialized()):
        return BatchNormMode.SINGLE
    return mode_for(dist.get_world_size(), _device(model).type, dist.get_backend())


def mode_for(world: int, device_type: str, backend: str) -> BatchNormMode:
    """The mode of a model with batch norm: ``"single process"`` in a world of one, ``"synchronised"`` for
    CUDA parameters under a backend other than gloo, else ``"per-rank statistics"``."""
    if world == 1:
        return BatchNormMode.SINGLE
    if device_type == "cuda" and backend != "gloo":
        return BatchNormMode.SYNCHRONISED
    return BatchNormMode.PER_RANK


def check_per_rank(model: nn.Module, mode: BatchNormMode) -> None:
    """Refuse a model that already holds `SyncBatchNorm` modules where they cannot run (per-rank mode)."""
    if mode is not BatchNormMode.PER_RANK:
        return
    for name, module in model.named_modules():
        if isinstance(module, nn.SyncBatchNorm):
            raise ValueError(
                f"model must hold plain batch norm on CPU or gloo under torchrun, got the SyncBatchNorm "
                f"{name or '<root>'!r}, which runs on GPUs only; build it with BatchNorm (on CUDA the "
                "training loop synchronises it itself)"
            )


def _sync_copy(module: _BatchNorm) -> nn.SyncBatchNorm:
    """A `SyncBatchNorm` sharing ``module``'s parameters and buffers."""
    sync = nn.SyncBatchNorm(
        module.num_features,
        module.eps,
        module.momentum,
        module.affine,
        module.track_running_stats,
        bias=module.bias is not None,
    )
    sync._parameters = dict(module._parameters)  # the same tensors (None where the module has none)
    sync._buffers = dict(module._buffers)
    sync._non_persistent_buffers_set = set(module._non_persistent_buffers_set)
    sync.training = module.training
    if hasattr(module, "qconfig"):
        sync.qconfig = module.qconfig
    return sync


def _clone(module: nn.Module, children: dict[str, nn.Module | None]) -> nn.Module:
    """A shallow copy of ``module`` (same parameters and buffers, its own dicts) with ``children``."""
    clone = object.__new__(type(module))
    clone.__dict__.update(
        {k: v.copy() if isinstance(v, (dict, set)) else v for k, v in module.__dict__.items()}
    )
    clone._modules = dict(children)
    return clone


def _convert(module: nn.Module, memo: dict[int, nn.Module]) -> nn.Module:
    if id(module) in memo:  # a module used twice stays one module
        return memo[id(module)]
    out: nn.Module
    if isinstance(module, _BatchNorm) and not isinstance(module, nn.SyncBatchNorm):
        out = _sync_copy(module)
        for name, child in module._modules.items():  # a batch norm with submodules keeps them
            out._modules[name] = None if child is None else _convert(child, memo)
    else:
        children = {n: None if c is None else _convert(c, memo) for n, c in module._modules.items()}
        same = all(children[n] is c for n, c in module._modules.items())
        out = module if same else _clone(module, children)
    if out is not module:
        object.__setattr__(out, _ORIGINAL, module)
    memo[id(module)] = out
    return out


def sync_batchnorm(model: nn.Module) -> nn.Module:
    """A view of ``model`` for training with synchronised batch statistics.

    Every batch-norm module (any ``torch.nn.modules.batchnorm._BatchNorm`` but `SyncBatchNorm`, so
    `eqlab.nn.GroupBatchNorm2d` too) is replaced by a `SyncBatchNorm` holding the same parameter and
    buffer tensors, and every module above one by a shallow copy; the rest of the tree is shared.
    ``model`` itself is unchanged. Train the view, then call `revert_sync_batchnorm` on it.

    Parameters
    ----------
    model
        Any module tree (a batch norm itself included).

    Returns
    -------
    nn.Module
        The view (``model`` itself when it holds no batch norm).
    """
    check_module(model, "model")
    return _convert(model, {})


def revert_sync_batchnorm(view: nn.Module) -> nn.Module:
    """The model behind a `sync_batchnorm` view, with the view's state copied into it.

    For each `SyncBatchNorm` of the view, its parameters and buffers (weight, bias, running_mean,
    running_var, num_batches_tracked) are copied into the batch-norm module it replaced, where they are
    not the same tensors already, with ``eps``, ``momentum`` and the training flag. ``affine`` and
    ``track_running_stats`` are those of the original (the view was built from them).

    Parameters
    ----------
    view
        What `sync_batchnorm` returned (or any module: one that is no view is returned as it is).

    Returns
    -------
    nn.Module
        The original model: its module objects and classes, with the view's state.
    """
    check_module(view, "view")
    seen: set[int] = set()
    for module in view.modules():
        original = module.__dict__.get(_ORIGINAL)
        if original is None or id(module) in seen:
            continue
        seen.add(id(module))
        original.training = module.training
        if isinstance(module, nn.SyncBatchNorm):
            _copy_state(module, original)
    root = view.__dict__.get(_ORIGINAL)
    return view if root is None else root


def _copy_state(sync: nn.SyncBatchNorm, original: _BatchNorm) -> None:
    original.eps, original.momentum = sync.eps, sync.momentum
    with torch.no_grad():
        for store in ("_parameters", "_buffers"):
            source: dict[str, Any] = getattr(sync, store)
            target: dict[str, Any] = getattr(original, store)
            for name, value in source.items():
                mine = target.get(name)
                if mine is value:
                    continue
                if mine is None or value is None:
                    raise ValueError(
                        f"view: the SyncBatchNorm's {name} is {describe(value)} but the module it replaced "
                        f"has {describe(mine)}; the view was changed after sync_batchnorm"
                    )
                if mine.shape != value.shape:
                    raise ValueError(
                        f"view: the SyncBatchNorm's {name} is {describe(value)}, the module it replaced "
                        f"has {describe(mine)}"
                    )
                mine.copy_(value)


@contextmanager
def training_view(model: nn.Module, mode: BatchNormMode) -> Iterator[nn.Module]:
    """The module a training loop trains: ``model`` itself, or its `sync_batchnorm` view when ``mode`` is
    ``"synchronised"``; on leaving (an error included) the view's state is copied back into ``model``."""
    view = sync_batchnorm(model) if mode is BatchNormMode.SYNCHRONISED else model
    try:
        yield view
    finally:
        revert_sync_batchnorm(view)
