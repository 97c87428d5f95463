"""The ``subsampling`` study's scale: `SubsamplingConfig` with its quick and paper presets, the training
regimes, the data sources and the unseen quarter turns of the test set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eqlab._options import Option
from eqlab.train import TrainSettings

QUARTERS = (90, 180, 270)
"""The unseen rotations of the test set (exact quarter turns)."""


class Regime(Option):
    """How the networks of a unit are trained."""

    UPRIGHT = "upright"
    """On the digits as they are."""
    ROTATED = "rotated"
    """On digits rotated by angles drawn from N(rotated_mean, rotated_sd) degrees, per batch."""


class DataSource(Option):
    """Which digits a run asks for (`SubsamplingConfig.data`) and used (`SubsamplingResults.data`, never
    ``auto``)."""

    AUTO = "auto"
    """MNIST when ``--data-dir`` holds any of its IDX files (then all must be there), else the bundled
    digits."""
    MNIST = "mnist"
    """MNIST, read from the IDX files in ``--data-dir``; without them the run stops, naming the files."""
    DIGITS = "digits"
    """scikit-learn's bundled 8 x 8 digits, whatever ``--data-dir`` holds."""


@dataclass(frozen=True)
class SubsamplingConfig:
    """Scale of the ``subsampling`` study (defaults fit about 3.5 minutes on 2 cores)."""

    data: str = "auto"
    """A `DataSource`: ``"auto"``, ``"mnist"`` or ``"digits"``."""
    group: str = "p4"
    """The networks' group: ``"p4"`` or ``"p4m"``."""
    target_size: int = 33
    """The exact input size is the certified size nearest this; the approximate one is one pixel less."""
    widths: tuple[int, ...] = (8, 12, 16, 24)
    """Channels per group element of the lifting layer and of each stride-2 layer after it."""
    seeds: int = 3
    train: TrainSettings = field(
        default_factory=lambda: TrainSettings(
            epochs=8, batch_size=64, lr=3e-3, weight_decay=1e-5, checkpoint_every=3
        )
    )
    """Epochs, batch size and optimiser of every network."""
    test_fraction: float = 0.3
    """The bundled digits' test share (each seed its own split)."""
    mnist_train: int = 1500
    """With MNIST: training images drawn per seed from its training file."""
    mnist_test: int = 1000
    """With MNIST: test images drawn per seed from its test file."""
    angle_step: int = 15
    """Degrees between the rotations of the accuracy-against-angle sweep (a divisor of 90 gives the
    periodicity claim its pairs of angles 90 degrees apart)."""
    rotated_mean: float = 45.0
    """The mean rotation (degrees) of the rotated regime's training digits."""
    rotated_sd: float = 10.0
    """Their standard deviation (degrees)."""

    def __post_init__(self) -> None:
        DataSource.parse(self.data, "data")


QUICK: dict[str, Any] = {
    "seeds": 1,
    "train.epochs": 1,
    "widths": (4, 4, 4, 4),
    "angle_step": 45,
    "test_fraction": 0.2,
}
"""The ``--quick`` preset: one seed, one epoch of a four-channel network, a 45-degree sweep."""

PAPER: dict[str, Any] = {
    # the rotated-MNIST experiment: all of MNIST, Adam at lr 0.01, 50 epochs of batch 256, 4 seeds,
    # training rotations ~N(45, 20) degrees, accuracy every 10 degrees; 10 channels per orientation
    "data": "mnist",  # the paper's data: without MNIST's files in --data-dir the run stops
    "seeds": 4,
    "widths": (10, 10, 10, 10),
    "train.epochs": 50,
    "train.batch_size": 256,
    "train.lr": 0.01,
    "train.checkpoint_every": 5,
    "mnist_train": 60000,
    "mnist_test": 10000,
    "rotated_sd": 20.0,
    "angle_step": 10,
}
"""The ``--set scale=paper`` preset (see the package docstring): the paper's rotated-MNIST experiment with
this study's network and sizes."""
