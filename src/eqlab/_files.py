"""Atomic writes, for every file eqlab writes: write a temporary file in the same folder, then rename it
over the target, so a reader (or a resumed run) sees either the old file or the new one, never half of
one. The file gets the permissions any new file gets (``0o666`` less the umask), not the temporary
file's private ``0o600``."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eqlab._arguments import describe
from eqlab._arguments import path as check_path

__all__ = ["atomic_write_bytes", "atomic_write_text", "file_target", "replacing"]


def file_target(path: Any, name: str = "path") -> Path:
    """``path`` as a file to write: not an existing folder, in a folder (made when missing)."""
    target = check_path(path, name)
    if target.is_dir():
        raise ValueError(f"{name} must name a file to write, got the folder {target}")
    if target.parent.exists() and not target.parent.is_dir():
        raise ValueError(f"{name} must lie in a folder, got {target} whose parent is a file")
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A temporary path next to ``target`` to write; on success it replaces ``target``, on failure it
    is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    target = file_target(path)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {describe(data)}")
    with replacing(target) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {describe(text)}")
    atomic_write_bytes(path, text.encode("utf-8"))
