"""Bad inputs for `eqlab.data`: generated data, the rotations behind it and the local file loaders."""

from __future__ import annotations

import pickle
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eqlab import data
from eqlab.data._files import MNIST_FILES, read_idx
from eqlab.data._transforms import rotate, rotate_batch
from tests.battery.harness import Battery

_ROOT = tempfile.TemporaryDirectory(prefix="eqlab-battery-data-")


def _folder() -> Path:
    """A fresh empty folder (removed with the process's temporary root)."""
    return Path(tempfile.mkdtemp(dir=_ROOT.name))


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def _images(n: int = 4, size: int = 8) -> torch.Tensor:
    return torch.rand(n, 1, size, size, generator=_gen())


def _idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _write(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload)
    return path


def _idx_file(payload: bytes | None = None) -> Path:
    body = _idx_bytes(np.arange(18, dtype=np.uint8).reshape(2, 3, 3)) if payload is None else payload
    return _write(_folder() / "images-idx3-ubyte", body)


def _mnist(
    images: np.ndarray | None = None, labels: np.ndarray | None = None, raw: bytes | None = None
) -> Path:
    folder = _folder()
    images = np.zeros((2, 28, 28), dtype=np.uint8) if images is None else images
    labels = np.array([3, 7], dtype=np.uint8) if labels is None else labels
    names = MNIST_FILES[True]
    _write(folder / names[0], raw if raw is not None else _idx_bytes(images))
    _write(folder / names[1], raw if raw is not None else _idx_bytes(labels))
    return folder


def _cifar(batch: Any = None, raw: bytes | None = None) -> Path:
    folder = _folder()
    if batch is None:
        batch = {b"data": np.zeros((2, 3 * 32 * 32), dtype=np.uint8), b"labels": [1, 2]}
    _write(folder / "test_batch", raw if raw is not None else pickle.dumps(batch))
    return folder


def _a_file() -> Path:
    return _write(_folder() / "not-a-folder.txt", b"hello")


def build() -> Battery:
    b = Battery()

    b.mutate(
        "eqlab.data.digits",
        data.digits,
        {"size": 8, "mode": "pad"},
        {
            "size": [
                ("bool", True),
                ("float", 8.0),
                ("string", "8"),
                ("None", None),
                ("zero", 0),
                ("negative", -3),
                ("below 8 for padding", 7),
            ],
            "mode": [("unknown", "crop"), ("None", None), ("int", 3)],
        },
    )

    b.mutate(
        "eqlab.data.rotated_digits",
        data.rotated_digits,
        lambda: {"images": _images(), "generator": _gen(), "angles": "quarter"},
        {
            "images": [
                ("None", None),
                ("list", [[0.0] * 8] * 8),
                ("numpy array", np.zeros((4, 1, 8, 8), dtype=np.float32)),
                ("rank 1", torch.rand(8)),
                ("rank 0", torch.tensor(1.0)),
            ],
            "generator": [
                ("None", None),
                ("int seed", 0),
                ("string", "seed"),
                ("numpy generator", np.random.default_rng(0)),
            ],
            "angles": [("unknown", "half"), ("None", None), ("int", 90), ("upper case", "QUARTER")],
        },
    )

    b.mutate(
        "eqlab.data.paste_in_quadrants",
        data.paste_in_quadrants,
        lambda: {
            "images": _images(),
            "labels": torch.arange(4),
            "generator": _gen(),
            "label_quadrant": False,
        },
        {
            "images": [
                ("None", None),
                ("list", [[0.0]]),
                ("rank 3", torch.rand(4, 8, 8)),
                ("not square", torch.rand(4, 1, 8, 6)),
                ("rank 5", torch.rand(4, 1, 1, 8, 8)),
            ],
            "labels": [
                ("one too many", torch.arange(5)),
                ("rank 2", torch.arange(4)[:, None]),
                ("float", torch.zeros(4)),
                ("None", None),
                ("list", [0, 1, 2, 3]),
            ],
            "generator": [("None", None), ("int seed", 5), ("numpy generator", np.random.default_rng(0))],
            "label_quadrant": [("string", "yes"), ("int", 1), ("None", None)],
        },
    )

    b.mutate(
        "eqlab.data.gaussian_scale_sets",
        data.gaussian_scale_sets,
        lambda: {"num_sets": 3, "set_size": 4, "generator": _gen()},
        {
            "num_sets": [("zero", 0), ("negative", -1), ("float", 2.5), ("bool", True), ("string", "4")],
            "set_size": [("one", 1), ("zero", 0), ("float", 3.0), ("None", None)],
            "generator": [("None", None), ("int seed", 1), ("numpy generator", np.random.default_rng(0))],
        },
    )

    b.mutate(
        "eqlab.data._transforms.rotate",
        rotate,
        lambda: {"x": torch.rand(1, 8, 8), "degrees": 30.0},
        {
            "x": [
                ("None", None),
                ("list", [[0.0, 1.0]]),
                ("rank 1", torch.rand(8)),
                ("rank 0", torch.tensor(1.0)),
                ("integer dtype", torch.zeros(1, 8, 8, dtype=torch.long)),
                ("not square", torch.rand(1, 8, 6)),
            ],
            "degrees": [
                ("nan", float("nan")),
                ("inf", float("inf")),
                ("-inf", float("-inf")),
                ("string", "30"),
                ("None", None),
                ("bool", True),
                ("list", [30.0]),
            ],
        },
    )

    b.mutate(
        "eqlab.data._transforms.rotate_batch",
        rotate_batch,
        lambda: {"x": _images(3), "degrees": torch.tensor([10.0, 95.0, 200.0])},
        {
            "x": [
                ("rank 3", torch.rand(3, 8, 8)),
                ("rank 5", torch.rand(3, 1, 1, 8, 8)),
                ("not square", torch.rand(3, 1, 8, 6)),
                ("integer dtype", torch.zeros(3, 1, 8, 8, dtype=torch.long)),
                ("list", [[0.0]]),
                ("None", None),
                ("numpy array", np.zeros((3, 1, 8, 8), dtype=np.float32)),
            ],
            "degrees": [
                ("None", None),
                ("string", "30"),
                ("wrong length", torch.tensor([10.0, 20.0])),
                ("rank 2", torch.zeros(3, 1)),
                ("nan entry", torch.tensor([10.0, float("nan"), 0.0])),
                ("inf entry", torch.tensor([10.0, float("inf"), 0.0])),
                ("bool tensor", torch.tensor([True, False, True])),
                ("numpy array", np.zeros(3)),
            ],
        },
    )

    b.mutate(
        "eqlab.data._files.read_idx",
        _lazy(read_idx),
        lambda: {"path": _idx_file()},
        {
            "path": [
                ("None", None),
                ("int", 5),
                ("missing file", Path(tempfile.gettempdir()) / "eqlab-battery-no-such-file-idx3-ubyte"),
                ("a folder", Path(_ROOT.name)),
                ("empty file", _Lazy(lambda: _idx_file(b""))),
                ("garbage", _Lazy(lambda: _idx_file(b"hello world, not an idx file"))),
                (
                    "truncated body",
                    _Lazy(lambda: _idx_file(_idx_bytes(np.zeros((2, 3, 3), dtype=np.uint8))[:-5])),
                ),
                ("truncated header", _Lazy(lambda: _idx_file(bytes([0, 0, 8, 3, 0, 0, 0, 2])))),
                ("float values", _Lazy(lambda: _idx_file(bytes([0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0])))),
                ("gzip of garbage", _Lazy(lambda: _gz_garbage())),
            ]
        },
    )

    b.mutate(
        "eqlab.data.load_mnist",
        _lazy(data.load_mnist),
        lambda: {"data_dir": _mnist(), "train": True},
        {
            "data_dir": [
                ("None", None),
                ("int", 5),
                ("missing folder", Path(tempfile.gettempdir()) / "eqlab-battery-no-such-folder"),
                ("empty folder", _Lazy(_folder)),
                ("a file", _Lazy(_a_file)),
                ("garbage files", _Lazy(lambda: _mnist(raw=b"garbage bytes"))),
                (
                    "counts disagree",
                    _Lazy(lambda: _mnist(labels=np.array([1, 2, 3], dtype=np.uint8))),
                ),
                (
                    "images of rank 2",
                    _Lazy(lambda: _mnist(images=np.zeros((2, 784), dtype=np.uint8))),
                ),
            ],
            "train": [("string", "yes"), ("None", None), ("int 1", 1), ("int 0", 0)],
        },
    )

    b.mutate(
        "eqlab.data.load_cifar10",
        _lazy(data.load_cifar10),
        lambda: {"data_dir": _cifar(), "train": False},
        {
            "data_dir": [
                ("None", None),
                ("int", 5),
                ("missing folder", Path(tempfile.gettempdir()) / "eqlab-battery-no-such-folder"),
                ("empty folder", _Lazy(_folder)),
                ("a file", _Lazy(_a_file)),
                ("garbage batch", _Lazy(lambda: _cifar(raw=b"not a pickle at all"))),
                ("a pickled list", _Lazy(lambda: _cifar(batch=[1, 2, 3]))),
                (
                    "data of the wrong size",
                    _Lazy(lambda: _cifar(batch={b"data": np.zeros(100, dtype=np.uint8), b"labels": [1]})),
                ),
                (
                    "labels disagree with images",
                    _Lazy(
                        lambda: _cifar(
                            batch={b"data": np.zeros((2, 3072), dtype=np.uint8), b"labels": [1, 2, 3]}
                        )
                    ),
                ),
                (
                    "labels out of range",
                    _Lazy(
                        lambda: _cifar(
                            batch={b"data": np.zeros((2, 3072), dtype=np.uint8), b"labels": [1, 12]}
                        )
                    ),
                ),
            ],
            "train": [("string", "no"), ("None", None), ("int 1", 1)],
        },
    )
    # numpy integers are integers
    b.add_valid("eqlab.data.digits", lambda: data.digits(np.int64(10), "pad"))
    b.add_valid(
        "eqlab.data.gaussian_scale_sets", lambda: data.gaussian_scale_sets(np.int32(2), np.int64(3), _gen())
    )
    b.add_valid("eqlab.data._transforms.rotate", lambda: rotate(torch.rand(1, 8, 8), np.int64(90)))
    b.add_valid("eqlab.data._files.read_idx", lambda: read_idx(str(_idx_file())))
    b.add_valid("eqlab.data.load_mnist", lambda: data.load_mnist(str(_mnist()), train=np.bool_(True)))
    return b


def _gz_garbage() -> Path:
    path = _folder() / "images-idx3-ubyte.gz"
    path.write_bytes(b"this is not gzip")
    return path


class _Lazy:
    """A bad value made when the case runs (a file or folder that must exist afresh)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def _lazy(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with every `_Lazy` keyword argument made at call time."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **{k: v.make() if isinstance(v, _Lazy) else v for k, v in kwargs.items()})

    return call
