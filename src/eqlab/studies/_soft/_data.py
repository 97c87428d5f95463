"""The ``soft`` study's images for one task and seed: the bundled digits or MNIST on quadrant canvases, or
CIFAR-10, drawn from named seed streams."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from eqlab.data._digits import digits
from eqlab.data._files import load_cifar10, load_mnist
from eqlab.data._quadrants import quadrant_canvases, resize_square
from eqlab.data._splits import split_indices
from eqlab.groups._image import transform_image
from eqlab.runs import RunFolder
from eqlab.studies._soft._config import SoftConfig, SoftTask
from eqlab.studies._soft._streams import Streams


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
    """Each seed's images of each task, drawn from named streams (``streams``: the reported seeds' by
    default, the design sweep's with `DESIGN`) and kept for the units of that seed; the files of
    ``--data-dir`` are read once."""

    def __init__(self, config: SoftConfig, run: RunFolder, streams: Streams | None = None) -> None:
        self.config, self.run = config, run
        self.streams = streams or Streams(run)
        self.files: dict[tuple[str, bool], tuple[torch.Tensor, torch.Tensor]] = {}
        self.current: tuple[tuple[str, int, bool], TaskData] | None = None

    def _file(self, name: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        if (name, train) not in self.files:
            assert self.run.data_dir is not None
            loader = load_mnist if name == "mnist" else load_cifar10
            self.files[name, train] = loader(self.run.data_dir, train)
        return self.files[name, train]

    def get(self, task: str, seed_index: int, rotated: bool = False) -> TaskData:
        """The images of ``task`` for seed ``seed_index``, drawn on the first call and kept while the
        units ask for the same task and seed. ``rotated`` (digit tasks): every digit turned by a multiple
        of 90 degrees, drawn per image from the stream ``("rotations", ..., seed_index)``, before it is
        pasted; the split and the placements are the upright images' (the same streams)."""
        key = (task, seed_index, rotated)
        if self.current is None or self.current[0] != key:
            self.current = (key, self._draw(task, seed_index, rotated))
        return self.current[1]

    def _turn(self, images: torch.Tensor, part: str, seed_index: int) -> torch.Tensor:
        """``images`` ``(N, 1, S, S)``, each turned by ``k`` quarter turns, ``k`` drawn per image."""
        turns = torch.randint(
            0, 4, (images.shape[0],), generator=self.streams.generator("rotations", part, seed_index)
        )
        out = images.clone()
        for k in range(1, 4):
            out[turns == k] = transform_image(images[turns == k], k)
        return out

    def _subset(self, name: str, images: torch.Tensor, seed_index: int) -> torch.Tensor:
        n = images.shape[0]
        if self.config.train_size > n:
            raise ValueError(
                f"train_size must be at most the {n:,} training images of {name}, got "
                f"{self.config.train_size}"
            )
        return torch.randperm(n, generator=self.streams.generator("subset", name, seed_index))[
            : self.config.train_size
        ]

    def _draw(self, task: str, seed_index: int, rotated: bool) -> TaskData:
        config, run = self.config, self.run
        quadrant = task == SoftTask.QUADRANT
        if rotated and task == SoftTask.CIFAR10:
            raise ValueError("rotated images are drawn for the digit tasks, got the task 'cifar10'")
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
            if rotated:
                images = self._turn(images, "bundled", seed_index)
            train, test = split_indices(
                n, (n - config.train_size) / n, self.streams.generator("split", seed_index)
            )
            canvases, targets = quadrant_canvases(
                images,
                labels,
                self.streams.generator("quadrants", seed_index),
                label_quadrant=quadrant,
                size=config.size,
            )
            return TaskData(canvases[train], targets[train], canvases[test], targets[test], "bundled digits")
        images, labels = self._file("mnist", True)
        chosen = self._subset("MNIST", images, seed_index)
        x_train, y_train = quadrant_canvases(
            self._turn(images[chosen], "train", seed_index) if rotated else images[chosen],
            labels[chosen],
            self.streams.generator("quadrants", "train", seed_index),
            label_quadrant=quadrant,
            size=config.size,
        )
        test_images, test_labels = self._file("mnist", False)
        x_test, y_test = quadrant_canvases(
            self._turn(test_images, "test", seed_index) if rotated else test_images,
            test_labels,
            self.streams.generator("quadrants", "test", seed_index),
            label_quadrant=quadrant,
            size=config.size,
        )
        return TaskData(x_train, y_train, x_test, y_test, "MNIST")
