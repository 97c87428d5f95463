"""Atomic writes of run files: JSON and torch checkpoints, on `eqlab._files` (temporary file, rename)."""

from __future__ import annotations

import json
import os
import pickle
from typing import Any

import torch

from eqlab._files import atomic_write_bytes, atomic_write_text, file_target, replacing

__all__ = ["atomic_torch_save", "atomic_write_bytes", "atomic_write_json", "atomic_write_text"]


def atomic_write_json(path: str | os.PathLike[str], value: Any) -> None:
    """Write ``value`` as indented JSON to ``path`` atomically."""
    file_target(path)
    try:
        text = json.dumps(value, indent=2, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"value must be JSON-serialisable (dicts, lists, str, numbers, None): {exc}"
        ) from None
    atomic_write_text(path, text + "\n")


def atomic_torch_save(path: str | os.PathLike[str], value: Any) -> None:
    """`torch.save` to ``path`` atomically."""
    with replacing(file_target(path)) as tmp:
        try:
            torch.save(value, tmp)
        except (TypeError, AttributeError, pickle.PicklingError) as exc:
            raise TypeError(f"value cannot be saved by torch.save (it must be picklable): {exc}") from None
