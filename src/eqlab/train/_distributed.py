"""Process-group set-up for ``torchrun``: gloo on CPU, nccl on GPU; a no-op in a single process."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from eqlab._arguments import choice
from eqlab.train._batchnorm import mode_for

__all__ = ["batchnorm_statistics", "init_from_env", "is_distributed", "rank", "world_size"]


def is_distributed() -> bool:
    """Whether this process was started by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device: str = "cpu") -> int:
    """Initialise the default process group from torchrun's environment and return this rank.

    Does nothing (and returns 0) outside torchrun.
    """
    device = choice(device, "device", ("cpu", "cuda"))
    if not is_distributed():
        return 0
    if not dist.is_initialized():
        backend = "nccl" if device == "cuda" and torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return dist.get_rank()


def rank() -> int:
    """This process's rank (0 outside a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """The number of processes of this run (1 outside torchrun)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def batchnorm_statistics(device: str = "cpu") -> str:
    """How `eqlab.train.train` (and `eqlab.bayes.train_marglik`) treat batch norm in this run, for env.json:
    the `BatchNormMode` a batch-norm model on ``device`` gets, as its string: ``"single process"``,
    ``"synchronised"`` (CUDA under nccl: SyncBatchNorm while training, the model's own classes after) or
    ``"per-rank statistics"`` (CPU or gloo: each rank's statistics of its share of the batch). The backend
    is the process group's, or the one `init_from_env` would choose."""
    device = choice(device, "device", ("cpu", "cuda"))
    if dist.is_available() and dist.is_initialized():
        backend = str(dist.get_backend())
    else:
        backend = "nccl" if device == "cuda" and torch.cuda.is_available() else "gloo"
    return mode_for(world_size(), device, backend).value
