"""Checkpoints that make a resumed run end exactly where an uninterrupted one would.

A checkpoint holds the model, optimiser and scheduler states, every RNG state (torch, numpy, python,
and any extra generators the caller keeps), the position in the data order (epoch, step), and the
resolved config, so a checkpoint can be read on its own.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from eqlab._arguments import describe
from eqlab._arguments import path as check_path
from eqlab.runs._atomic import atomic_torch_save

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
    expected = "the dict of get_rng_state() (torch, numpy and python states)"
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be {expected}, got {describe(state)}")
    missing = [k for k in ("torch", "numpy", "python") if k not in state]
    if missing:
        raise ValueError(f"state must be {expected}; it lacks {missing}")
    torch_state = state["torch"]
    if (
        not isinstance(torch_state, torch.Tensor)
        or torch_state.dtype != torch.uint8
        or torch_state.dim() != 1
    ):
        raise ValueError(
            f"state['torch'] must be a ByteTensor from torch.get_rng_state(), got {describe(torch_state)}"
        )
    for key in ("numpy", "python"):
        if not isinstance(state[key], tuple):
            raise ValueError(
                f"state[{key!r}] must be the tuple of a {key} generator state, got {describe(state[key])}"
            )
    saved = get_rng_state()
    try:
        torch.set_rng_state(torch_state)
        np.random.set_state(state["numpy"])  # noqa: NPY002
        random.setstate(state["python"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
    except (TypeError, ValueError, RuntimeError) as exc:
        set_rng_state(saved)  # all or nothing
        raise ValueError(f"state must be {expected}; restoring it failed: {exc}") from None


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write ``state`` plus the global RNG states to ``path`` atomically."""
    global _written
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a dict, got {describe(state)}")
    if "rng" in state:
        raise ValueError(
            "state must not hold an 'rng' entry: save_checkpoint writes the RNG states there itself"
        )
    atomic_torch_save(path, {**state, "rng": get_rng_state()})
    _written += 1
    limit = os.environ.get(INTERRUPT_ENV)
    if limit and _written >= int(limit):
        raise KeyboardInterrupt(f"{INTERRUPT_ENV}={limit}: interrupted after checkpoint {path}")


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The state saved at ``path`` (RNG states restored), or ``None`` when there is no checkpoint."""
    file = check_path(path, "path")
    if not file.exists():
        return None
    if not file.is_file():
        raise ValueError(f"path must be a checkpoint file, got the folder {file}")
    try:
        state = torch.load(file, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch.load raises many kinds for a file that is not a checkpoint
        raise ValueError(f"path {file} is not a checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or "rng" not in state:
        raise ValueError(f"path {file} is not an eqlab checkpoint (a dict with the RNG states under 'rng')")
    try:
        set_rng_state(state["rng"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"path {file} holds unusable RNG states: {exc}") from None
    return state
