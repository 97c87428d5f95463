"""The ``subsampling`` study's digits: MNIST from ``--data-dir`` when its IDX files are there, else
scikit-learn's bundled digits; one seed's training and test images, and their resizing to a unit's size."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F

from eqlab.data._digits import digits
from eqlab.data._files import MNIST_FILES, load_mnist
from eqlab.data._splits import split_indices
from eqlab.runs import RunFolder
from eqlab.studies._subsampling._config import DataSource, SubsamplingConfig


@dataclass(frozen=True)
class SeedDigits:
    """One seed's source images (native size), before resizing to a unit's size."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def _mnist_dir(run: RunFolder) -> str | None:
    """``run.data_dir`` when it holds any of MNIST's IDX files where `load_mnist` looks (then all must be
    there: `load_mnist` names the missing ones), else None."""
    if run.data_dir is None:
        return None
    folder = Path(run.data_dir)
    names = [name for pair in MNIST_FILES.values() for name in pair]
    places = (folder, folder / "MNIST" / "raw")
    found = any((p / n).is_file() or (p / f"{n}.gz").is_file() for p in places for n in names)
    return run.data_dir if found else None


def data_source(config: SubsamplingConfig, run: RunFolder) -> DataSource:
    """The digits of ``config.data``: ``"auto"`` is MNIST when ``run.data_dir`` holds its IDX files, else
    the bundled digits.

    Raises
    ------
    ValueError
        If ``config.data`` is ``"mnist"`` and ``run.data_dir`` holds none of MNIST's files.
    """
    source = DataSource.parse(config.data, "data")
    found = _mnist_dir(run) is not None
    if source is DataSource.MNIST and not found:
        names = ", ".join(name for pair in MNIST_FILES.values() for name in pair)
        where = "no --data-dir was given" if run.data_dir is None else f"--data-dir {run.data_dir} holds none"
        raise ValueError(
            f"data='mnist' needs --data-dir: a folder holding MNIST's IDX files ({names}, each optionally "
            f".gz), directly or in MNIST/raw/; {where}"
        )
    if source is DataSource.AUTO:
        return DataSource.MNIST if found else DataSource.DIGITS
    return source


@lru_cache(maxsize=2)
def _mnist(data_dir: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    return load_mnist(data_dir, train=train)


def _subset(
    images: torch.Tensor, labels: torch.Tensor, count: int, name: str, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` images (and their labels) drawn without replacement; ``name`` is the config field."""
    if count > len(images):
        raise ValueError(f"{name} must be at most the {len(images)} images of the file, got {count}")
    chosen = torch.randperm(len(images), generator=generator)[:count]
    return images[chosen], labels[chosen]


def digits_of_seed(config: SubsamplingConfig, run: RunFolder, seed_index: int) -> SeedDigits:
    """The seed's training and test images at their native size: an MNIST subset drawn for this seed, or
    this seed's split of the bundled digits."""
    folder = _mnist_dir(run)
    if data_source(config, run) is DataSource.MNIST and folder is not None:
        x_train, y_train = _subset(
            *_mnist(folder, True),
            config.mnist_train,
            "mnist_train",
            run.generator("mnist train", seed_index),
        )
        x_test, y_test = _subset(
            *_mnist(folder, False),
            config.mnist_test,
            "mnist_test",
            run.generator("mnist test", seed_index),
        )
        return SeedDigits(x_train, y_train, x_test, y_test)
    images, labels = digits(8)
    train_idx, test_idx = split_indices(len(images), config.test_fraction, run.generator("split", seed_index))
    return SeedDigits(images[train_idx], labels[train_idx], images[test_idx], labels[test_idx])


def resized(images: torch.Tensor, size: int) -> torch.Tensor:
    """``(N, 1, h, w) -> (N, 1, size, size)``, bilinear (as `eqlab.data.digits` with ``mode="resize"``)."""
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
