"""Process-group set-up for ``torchrun``: gloo on CPU, nccl on GPU; a no-op in a single process."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from eqlab._arguments import choice

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
    """How `eqlab.train.train` computes batch-norm statistics in this run, in words (for env.json):
    across processes on CUDA (SyncBatchNorm while training), per process on CPU (SyncBatchNorm needs
    GPUs; gloo cannot run it), or in the one process."""
    device = choice(device, "device", ("cpu", "cuda"))
    if world_size() == 1:
        return "one process: statistics of each batch"
    if device == "cuda" and torch.cuda.is_available():
        return "synchronised across processes (SyncBatchNorm while training, converted back after)"
    return "per process: each rank's statistics of its share of the batch (SyncBatchNorm needs GPUs)"
