"""Loaders for real data sets kept in a local folder: MNIST (IDX files) and CIFAR-10 (python batches).

Nothing is downloaded. A missing file raises `DataFilesNotFound` (a `FileNotFoundError` and a
`ValueError`), a malformed one `ValueError`, each naming the argument, the files expected and where
they were looked for.
"""

from __future__ import annotations

import gzip
import pickle
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eqlab._arguments import flag
from eqlab._arguments import path as check_path

__all__ = ["MNIST_FILES", "load_cifar10", "load_mnist", "read_idx"]

MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = ("test_batch",)
CIFAR_CLASSES = 10


class DataFilesNotFound(FileNotFoundError, ValueError):
    """Data files that are not where the argument says: a `FileNotFoundError` that is also the
    `ValueError` of a bad argument."""


def _read_idx(path: Path, what: str) -> np.ndarray:
    """The IDX file ``path``; errors start with ``what`` (the argument and the file)."""
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{what} is not a readable gzip file ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{what} is not an IDX file of unsigned bytes (bad magic number {data[:4]!r})")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise ValueError(f"{what} is not an IDX file: its header promises {ndim} dimensions but is cut short")
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{what} holds {body.size} values but its header promises {dims}")
    return body.reshape(dims)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzip or plain): unsigned bytes with big-endian dimension sizes."""
    file = check_path(path, "path")
    if not file.exists():
        raise DataFilesNotFound(f"path {file} does not exist")
    if not file.is_file():
        raise ValueError(f"path must be a file, got the folder {file}")
    return _read_idx(file, f"path {file}")


def _folder(data_dir: Any) -> Path:
    folder = check_path(data_dir, "data_dir")
    if not folder.exists():
        raise DataFilesNotFound(f"data_dir {folder} does not exist")
    if not folder.is_dir():
        raise ValueError(f"data_dir must be a folder, got the file {folder}")
    return folder


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz", folder / "MNIST" / "raw" / name):
        if candidate.is_file():
            return candidate
    return None


def load_mnist(data_dir: str | Path, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST from the IDX files in a local folder (nothing is downloaded).

    Parameters
    ----------
    data_dir
        A folder holding ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (or the ``t10k-``
        test files), plain or ``.gz``, or plain under ``MNIST/raw`` (torchvision's layout).
    train
        The 60,000 training images, or the 10,000 test images.

    Returns
    -------
    images, labels
        ``(N, 1, 28, 28)`` float32 images in [0, 1] and ``(N,)`` int64 labels.

    Raises
    ------
    FileNotFoundError
        (also a ValueError) when the folder or a file is missing, naming the files expected.
    ValueError
        when a file is not a well-formed IDX file, or the two disagree.
    """
    train = flag(train, "train")
    folder = _folder(data_dir)
    names = MNIST_FILES[train]
    paths = [_find(folder, n) for n in names]
    if any(p is None for p in paths):
        raise DataFilesNotFound(
            f"data_dir {folder} lacks the MNIST {'training' if train else 'test'} files: expected "
            f"{names[0]} and {names[1]} (optionally .gz)"
        )
    images, labels = (_read_idx(p, f"data_dir {folder}: its {p.name}") for p in paths if p is not None)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"data_dir {folder} holds MNIST files that disagree: images {images.shape} (expected (N, H, W)), "
            f"labels {labels.shape} (expected (N,))"
        )
    return torch.tensor(images, dtype=torch.float32)[:, None] / 255.0, torch.tensor(labels, dtype=torch.long)


def _cifar_batch(file: Path) -> tuple[np.ndarray, np.ndarray]:
    what = f"data_dir {file.parent}: its {file.name}"
    try:
        with file.open("rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as exc:
        raise ValueError(f"{what} is not a CIFAR-10 python batch (unpickling failed: {exc})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{what} is not a CIFAR-10 python batch (no b'data' / b'labels')")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"])
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{what} holds data of shape {data.shape}, expected (N, 3072): 3 x 32 x 32 images")
    if labels.shape != (data.shape[0],):
        raise ValueError(f"{what} holds {data.shape[0]} images but labels of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= CIFAR_CLASSES):
        raise ValueError(
            f"{what} holds labels outside 0..{CIFAR_CLASSES - 1}: {labels.min()}..{labels.max()}"
        )
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load_cifar10(data_dir: str | Path, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 from the python batches in a local folder (nothing is downloaded).

    Parameters
    ----------
    data_dir
        A folder holding ``data_batch_1`` ... ``data_batch_5`` and ``test_batch``, directly or in its
        ``cifar-10-batches-py`` subfolder.
    train
        The 50,000 training images, or the 10,000 test images.

    Returns
    -------
    images, labels
        ``(N, 3, 32, 32)`` float32 images in [0, 1] and ``(N,)`` int64 labels 0..9.

    Raises
    ------
    FileNotFoundError
        (also a ValueError) when the folder or a batch is missing, naming the batches expected.
    ValueError
        when a batch is not a well-formed CIFAR-10 python batch.
    """
    train = flag(train, "train")
    folder = _folder(data_dir)
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    names = CIFAR_TRAIN if train else CIFAR_TEST
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DataFilesNotFound(
            f"data_dir {folder} lacks CIFAR-10 batches: expected {', '.join(names)}; missing {missing}"
        )
    batches = [_cifar_batch(folder / name) for name in names]
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    return torch.tensor(images, dtype=torch.float32) / 255.0, torch.tensor(labels)
