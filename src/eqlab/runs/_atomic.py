"""Atomic writes: write to a temporary file in the same folder, then rename over the target.

A reader (or a resumed run) sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch

from eqlab._arguments import describe
from eqlab._arguments import path as check_path

__all__ = ["atomic_torch_save", "atomic_write_bytes", "atomic_write_json", "atomic_write_text"]


def _target(path: Any) -> Path:
    """``path`` as a file path to write: a path that is not an existing folder."""
    target = check_path(path, "path")
    if target.is_dir():
        raise ValueError(f"path must name a file to write, got the folder {target}")
    if target.parent.exists() and not target.parent.is_dir():
        raise ValueError(f"path must lie in a folder, got {target} whose parent is a file")
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    target = _target(path)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {describe(data)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {describe(text)}")
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], value: Any) -> None:
    """Write ``value`` as indented JSON to ``path`` atomically."""
    _target(path)
    try:
        text = json.dumps(value, indent=2, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"value must be JSON-serialisable (dicts, lists, str, numbers, None): {exc}"
        ) from None
    atomic_write_text(path, text + "\n")


def atomic_torch_save(path: str | os.PathLike[str], value: Any) -> None:
    """`torch.save` to ``path`` atomically."""
    target = _target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        try:
            torch.save(value, tmp)
        except (TypeError, AttributeError, pickle.PicklingError) as exc:
            raise TypeError(f"value cannot be saved by torch.save (it must be picklable): {exc}") from None
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
