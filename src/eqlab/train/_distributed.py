"""Process-group set-up for ``torchrun``: gloo on CPU, nccl on GPU; a no-op in a single process."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from eqlab._arguments import choice

__all__ = ["init_from_env", "is_distributed", "rank"]


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
