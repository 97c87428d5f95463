"""Data: digits at any size, exact and interpolated rotations, quadrants, local MNIST/CIFAR-10 files."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from eqlab.data import (
    digits,
    gaussian_scale_sets,
    load_cifar10,
    load_mnist,
    paste_in_quadrants,
    rotated_digits,
)
from eqlab.data._transforms import rotate, rotate_batch
from eqlab.groups._image import flip_width, rotate90


@pytest.mark.parametrize("size", [8, 11, 16, 29])
def test_digits_at_odd_and_even_sizes(size: int) -> None:
    images, labels = digits(size)
    assert images.shape == (1797, 1, size, size) and labels.shape == (1797,)
    assert images.sum() == pytest.approx(digits(8)[0].sum().item(), rel=1e-6)  # padding keeps the ink
    resized, _ = digits(size, mode="resize")
    assert resized.shape == images.shape and resized.min() >= 0 and resized.max() <= 1


def test_rotate_is_exact_on_quarter_turns_and_consistent_in_between() -> None:
    x = torch.arange(2 * 9 * 9).reshape(2, 9, 9).double()
    for k in range(4):
        assert torch.equal(rotate(x, 90.0 * k), rotate90(x, k))
    assert torch.equal(rotate(x, 450.0), rotate90(x, 1))
    small = torch.zeros(1, 15, 15, dtype=torch.float64)
    small[0, 4:11, 7] = 1.0
    almost = rotate(small, 89.9)
    assert (almost - rotate90(small, 1)).abs().max() < 0.01
    with pytest.raises(ValueError, match="square"):
        rotate(torch.zeros(3, 4), 30)


def test_generated_variants() -> None:
    images, labels = digits(8)
    gen = torch.Generator().manual_seed(0)
    rotated, angles = rotated_digits(images[:20], gen)
    for img, rot, angle in zip(images[:20], rotated, angles, strict=True):
        assert torch.equal(rot, rotate90(img, int(angle) // 90))
    canvas, quad_labels = paste_in_quadrants(images[:10], labels[:10], gen, label_quadrant=True)
    assert canvas.shape == (10, 1, 16, 16)
    assert torch.equal(quad_labels % 10, labels[:10])
    for img, big, label in zip(images[:10], canvas, quad_labels, strict=True):
        row, col = divmod(int(label) // 10, 2)
        assert torch.equal(big[:, row * 8 : row * 8 + 8, col * 8 : col * 8 + 8], img)
    assert torch.equal(flip_width(flip_width(images[:3])), images[:3])


def test_gaussian_sets_are_reproducible() -> None:
    a = gaussian_scale_sets(5, 7, torch.Generator().manual_seed(3))
    b = gaussian_scale_sets(5, 7, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and a[0].shape == (5, 7) and a[1].shape == (5, 1)


def _write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_idx_files(tmp_path: Path, compress: bool) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28))
    labels = rng.integers(0, 10, 5)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images, compress)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, compress)
    x, y = load_mnist(tmp_path, train=False)
    assert x.shape == (5, 1, 28, 28) and torch.equal(y, torch.tensor(labels))
    assert torch.allclose(x[:, 0] * 255, torch.tensor(images, dtype=torch.float32))
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte and train-labels-idx1-ubyte"):
        load_mnist(tmp_path, train=True)


def test_malformed_idx_is_named(tmp_path: Path) -> None:
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04junk")
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2), False)
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte is not an IDX file"):
        load_mnist(tmp_path, train=False)


def test_cifar_batches(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    with (folder / "test_batch").open("wb") as handle:
        pickle.dump({b"data": data, b"labels": [1, 2, 3, 4]}, handle)
    x, y = load_cifar10(tmp_path, train=False)
    assert x.shape == (4, 3, 32, 32) and y.tolist() == [1, 2, 3, 4]
    assert torch.equal((x * 255).round().to(torch.uint8).reshape(4, -1), torch.tensor(data))
    with pytest.raises(FileNotFoundError, match="data_batch_1, data_batch_2"):
        load_cifar10(tmp_path, train=True)


def test_rotate_batch_matches_rotate_per_image() -> None:
    x = torch.randn(6, 1, 11, 11, dtype=torch.float64)
    angles = torch.tensor([0.0, 90.0, 33.0, 200.0, 270.0, 359.0], dtype=torch.float64)
    batch = rotate_batch(x, angles)
    for i in range(6):
        torch.testing.assert_close(batch[i], rotate(x[i], float(angles[i])), rtol=1e-12, atol=1e-12)
    assert torch.equal(batch[1], rotate90(x[1], 1)) and torch.equal(batch[0], x[0])
