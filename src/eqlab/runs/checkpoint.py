"""Checkpoints that make a resumed run end exactly where an uninterrupted one would.

A checkpoint holds the model, optimiser and scheduler states, every RNG state (torch, numpy, python,
and any extra generators the caller keeps), the position in the data order (epoch, step), and the
resolved config, so a checkpoint can be read on its own.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eqlab.runs.atomic import atomic_torch_save

__all__ = ["INTERRUPT_ENV", "get_rng_state", "load_checkpoint", "save_checkpoint", "set_rng_state"]

INTERRUPT_ENV = "EQLAB_INTERRUPT_AFTER_CHECKPOINTS"
"""Testing hook: when set to N, the N-th checkpoint written by this process raises KeyboardInterrupt
right after it is safely on disk, as a Ctrl-C at that moment would."""

_written = 0


def get_rng_state() -> dict[str, Any]:
    """The states of torch's, numpy's and python's global generators (and CUDA's when present)."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),  # noqa: NPY002 - the global state is what we restore
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states saved by `get_rng_state`."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])  # noqa: NPY002
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write ``state`` plus the global RNG states to ``path`` atomically."""
    global _written
    atomic_torch_save(path, {**state, "rng": get_rng_state()})
    _written += 1
    limit = os.environ.get(INTERRUPT_ENV)
    if limit and _written >= int(limit):
        raise KeyboardInterrupt(f"{INTERRUPT_ENV}={limit}: interrupted after checkpoint {path}")


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The state saved at ``path`` (RNG states restored), or ``None`` when there is no checkpoint."""
    if not Path(path).exists():
        return None
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    set_rng_state(state["rng"])
    return state
