"""Loaders for real data sets kept in a local folder: MNIST (IDX files) and CIFAR-10 (python batches).

Nothing is downloaded. A missing or malformed file raises `FileNotFoundError` / `ValueError` naming the
files expected and where they were looked for.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import torch

__all__ = ["MNIST_FILES", "load_cifar10", "load_mnist", "read_idx"]

MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = ("test_batch",)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip or plain): unsigned bytes with big-endian dimension sizes."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (bad magic number {data[:4]!r})")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path} holds {body.size} values but its header promises {dims}")
    return body.reshape(dims)


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz", folder / "MNIST" / "raw" / name):
        if candidate.exists():
            return candidate
    return None


def load_mnist(data_dir: str | Path, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST from ``data_dir``: images ``(N, 1, 28, 28)`` in [0, 1] and labels ``(N,)``."""
    folder = Path(data_dir)
    names = MNIST_FILES[train]
    paths = [_find(folder, n) for n in names]
    if any(p is None for p in paths):
        raise FileNotFoundError(
            f"MNIST {'training' if train else 'test'} files not found in {folder}: expected "
            f"{names[0]} and {names[1]} (optionally .gz)"
        )
    images, labels = (read_idx(p) for p in paths if p is not None)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"MNIST files in {folder} disagree: images {images.shape}, labels {labels.shape}")
    return torch.tensor(images, dtype=torch.float32)[:, None] / 255.0, torch.tensor(labels, dtype=torch.long)


def load_cifar10(data_dir: str | Path, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 from ``data_dir`` (or its ``cifar-10-batches-py`` subfolder): images ``(N, 3, 32, 32)``
    in [0, 1] and labels ``(N,)``."""
    folder = Path(data_dir)
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    names = CIFAR_TRAIN if train else CIFAR_TEST
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 batches not found in {folder}: expected {', '.join(names)}; missing {missing}"
        )
    images, labels = [], []
    for name in names:
        with (folder / name).open("rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
            raise ValueError(f"{folder / name} is not a CIFAR-10 python batch (no b'data' / b'labels')")
        images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
    return torch.tensor(np.concatenate(images), dtype=torch.float32) / 255.0, torch.tensor(
        np.concatenate(labels)
    )
