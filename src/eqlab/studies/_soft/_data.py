"""The ``soft`` study's images for one task and seed: the bundled digits or MNIST on quadrant canvases, or
CIFAR-10, drawn from named seed streams."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from eqlab.data._digits import digits
from eqlab.data._files import load_cifar10, load_mnist
from eqlab.data._quadrants import quadrant_canvases, resize_square
from eqlab.data._splits import split_indices
from eqlab.runs import RunFolder
from eqlab.studies._soft._config import SoftConfig, SoftTask


@dataclass
class TaskData:
    """One task's images for one seed: ``x_*`` of shape ``(N, C, size, size)`` with pixel values in
    [0, 1], ``y_*`` the ``(N,)`` labels, and where they came from."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str


class SoftData:
    """Each seed's images of each task, drawn from named streams and kept for the units of that seed;
    the files of ``--data-dir`` are read once."""

    def __init__(self, config: SoftConfig, run: RunFolder) -> None:
        self.config, self.run = config, run
        self.files: dict[tuple[str, bool], tuple[torch.Tensor, torch.Tensor]] = {}
        self.current: tuple[tuple[str, int], TaskData] | None = None

    def _file(self, name: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        if (name, train) not in self.files:
            assert self.run.data_dir is not None
            loader = load_mnist if name == "mnist" else load_cifar10
            self.files[name, train] = loader(self.run.data_dir, train)
        return self.files[name, train]

    def get(self, task: str, seed_index: int) -> TaskData:
        """The images of ``task`` for seed ``seed_index``, drawn on the first call and kept while the
        units ask for the same task and seed."""
        if self.current is None or self.current[0] != (task, seed_index):
            self.current = ((task, seed_index), self._draw(task, seed_index))
        return self.current[1]

    def _subset(self, name: str, images: torch.Tensor, seed_index: int) -> torch.Tensor:
        n = images.shape[0]
        if self.config.train_size > n:
            raise ValueError(
                f"train_size must be at most the {n:,} training images of {name}, got "
                f"{self.config.train_size}"
            )
        return torch.randperm(n, generator=self.run.generator("subset", name, seed_index))[
            : self.config.train_size
        ]

    def _draw(self, task: str, seed_index: int) -> TaskData:
        config, run = self.config, self.run
        quadrant = task == SoftTask.QUADRANT
        if task == SoftTask.CIFAR10:
            if run.data_dir is None:
                raise ValueError(
                    "tasks: 'cifar10' reads CIFAR-10 from --data-dir (data_batch_1 ... data_batch_5 and "
                    "test_batch), and none was given"
                )
            images, labels = self._file("cifar10", True)
            chosen = self._subset("CIFAR-10", images, seed_index)
            x_test, y_test = self._file("cifar10", False)
            return TaskData(
                resize_square(images[chosen], config.size),
                labels[chosen],
                resize_square(x_test, config.size),
                y_test,
                "CIFAR-10",
            )
        if run.data_dir is None:  # the bundled digits: one split and one placement per seed
            images, labels = digits(8)
            n = len(labels)
            if config.train_size >= n:
                raise ValueError(
                    f"train_size must be below the {n:,} bundled digits (the rest are the test set), "
                    f"got {config.train_size}; --data-dir with MNIST gives more"
                )
            train, test = split_indices(n, (n - config.train_size) / n, run.generator("split", seed_index))
            canvases, targets = quadrant_canvases(
                images,
                labels,
                run.generator("quadrants", seed_index),
                label_quadrant=quadrant,
                size=config.size,
            )
            return TaskData(canvases[train], targets[train], canvases[test], targets[test], "bundled digits")
        images, labels = self._file("mnist", True)
        chosen = self._subset("MNIST", images, seed_index)
        x_train, y_train = quadrant_canvases(
            images[chosen],
            labels[chosen],
            run.generator("quadrants", "train", seed_index),
            label_quadrant=quadrant,
            size=config.size,
        )
        test_images, test_labels = self._file("mnist", False)
        x_test, y_test = quadrant_canvases(
            test_images,
            test_labels,
            run.generator("quadrants", "test", seed_index),
            label_quadrant=quadrant,
            size=config.size,
        )
        return TaskData(x_train, y_train, x_test, y_test, "MNIST")
