"""The ``layerwise`` study's images: the bundled digits or CIFAR-10 from ``--data-dir`` (`read_source`), and
one pair of seeds' train/test data drawn from them (`Source.pair_data`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from eqlab.data._digits import digits
from eqlab.data._files import CIFAR_TEST, CIFAR_TRAIN, load_cifar10
from eqlab.data._splits import split_indices
from eqlab.runs import RunFolder
from eqlab.studies._layerwise._config import DataSource, LayerwiseConfig

CLASSES = 10
"""The classes of both data sources (digits 0-9, CIFAR-10's ten)."""


@dataclass(frozen=True)
class PairData:
    """One pair's data: images ``(N, C, H, W)`` in [0, 1] and labels ``(N,)``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True)
class Source:
    """The images a run draws every pair's data from."""

    name: str
    widths: tuple[int, ...]
    pool_after: tuple[int, ...]
    images: torch.Tensor
    labels: torch.Tensor
    test: tuple[torch.Tensor, torch.Tensor] | None
    """CIFAR-10's own test set; None: each pair splits ``images`` itself."""

    def test_size(self, config: LayerwiseConfig) -> int:
        """The test images of every pair: CIFAR-10's test set, or the digits' held-out share."""
        if self.test is not None:
            return len(self.test[1])
        n = len(self.labels)
        return n - round(n * (1 - config.test_fraction))

    def pair_data(self, config: LayerwiseConfig, run: RunFolder, pair: int) -> PairData:
        """The data of pair ``pair``: CIFAR-10's own split, or the digits split by the stream
        ``("split", pair)``."""
        if self.test is not None:
            return PairData(self.images, self.labels, *self.test)
        train_idx, test_idx = split_indices(
            len(self.labels), config.test_fraction, run.generator("split", pair)
        )
        return PairData(
            self.images[train_idx], self.labels[train_idx], self.images[test_idx], self.labels[test_idx]
        )


def _holds_cifar(data_dir: str | None) -> bool:
    if not data_dir:
        return False
    return any(
        (Path(data_dir) / sub / name).exists()
        for sub in ("", "cifar-10-batches-py")
        for name in (*CIFAR_TRAIN, *CIFAR_TEST)
    )


def read_source(config: LayerwiseConfig, run: RunFolder) -> Source:
    """The images of ``config.data`` (``"auto"``: CIFAR-10 when ``run.data_dir`` holds any of its batches,
    else the digits) and the widths of the network trained on them."""
    source = DataSource.parse(config.data, "data")
    if source is DataSource.AUTO:
        source = DataSource.CIFAR10 if _holds_cifar(run.data_dir) else DataSource.DIGITS
    if source is DataSource.CIFAR10:
        if run.data_dir is None:
            raise ValueError(
                "data='cifar10' needs --data-dir: a folder holding CIFAR-10's python batches "
                f"({', '.join((*CIFAR_TRAIN, *CIFAR_TEST))}), directly or in cifar-10-batches-py/"
            )
        images, labels = load_cifar10(run.data_dir, train=True)
        test = load_cifar10(run.data_dir, train=False)
        return Source("CIFAR-10", config.cifar_widths, config.cifar_pool_after, images, labels, test)
    images, labels = digits(config.size, mode="resize")
    name = f"digits {config.size}x{config.size}"
    return Source(name, config.widths, config.pool_after, images, labels, None)
