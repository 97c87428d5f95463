"""The ``soft`` study's tasks, models and scale: `SoftConfig`, its checks, and the quick and paper presets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from eqlab._options import Option
from eqlab.bayes import MarglikSettings
from eqlab.studies._soft._multi_config import MultiConfig


class SoftTask(Option):
    """The tasks of the ``soft`` study."""

    DIGIT = "digit"
    """DigitMNIST: label = digit; a move between quadrants (a circular shift) keeps the label."""
    QUADRANT = "quadrant"
    """QuadrantMNIST: label = digit + 10 x quadrant (40 classes); translation symmetry must be broken."""
    CIFAR10 = "cifar10"
    """CIFAR-10 (read from ``--data-dir``), translations roughly a symmetry, as in the paper's Section 6.2."""


MODELS = ("conv", "fc", "fc+conv", "ffc+conv")
"""The block types trained (`eqlab.nn.SoftPath`); the last two have a convolution and a dense path."""
TWO_PATH = ("fc+conv", "ffc+conv")
"""The models whose blocks sum a convolution and a dense path."""
PRIORS = ("map", "marglik")
"""Fixed prior precisions (MAP) or prior precisions learned by the marginal likelihood."""
JOBS = (
    ("conv", "map"),
    ("fc", "map"),
    ("fc+conv", "map"),
    ("fc+conv", "marglik"),
    ("ffc+conv", "map"),
    ("ffc+conv", "marglik"),
)
"""The (model, priors) trained per task and seed: the one-path baselines with fixed priors (the premise
and the baselines), the two-path models with fixed and with learned priors (the claims, paired)."""
SHARE = 0.5
"""A conv share above this: the block's output comes more from its conv path than from its dense path
(the measure of use; see the study's docstring for why it is the share)."""
SYMMETRIC = ("digit", "cifar10")
"""The tasks where translation symmetry holds (exactly between quadrants, roughly on CIFAR-10)."""


def _default_training() -> MarglikSettings:
    """Design C of ``design/soft_sweep.md``: 40 epochs at learning rate 0.01 (the rest as design A)."""
    return MarglikSettings(
        epochs=40, batch_size=64, lr=1e-2, burn_in=5, frequency=5, hyper_steps=20, hyper_lr=0.1, ggn="mc"
    )


@dataclass(frozen=True)
class SoftConfig:
    """Scale of the ``soft`` study. The defaults are design C of ``design/soft_sweep.md``, the sweep rule's
    choice on the design seeds when no affordable design met the premise (the one with the largest smallest
    digit margin): 36 Section 6.1 networks and 6 Section 6.3 ones."""

    alpha: int = 4
    """The base width: block ``k`` has ``alpha * widths[k]`` channels."""
    widths: tuple[int, ...] = (1, 2, 2, 4, 4)
    """Channel multipliers of the blocks (the paper: 1, 2, 2, 4, 4, 8, 8, 16)."""
    strides: tuple[int, ...] = (1, 2, 2, 2, 2)
    """Strides of the blocks, 1 or 2 (the paper: 1, 2, 1, 2, 1, 2, 2, 2)."""
    size: int = 16
    """The side of the input images (the paper: 32); the canvases (and CIFAR-10) are resized to it."""
    train_size: int = 1000
    """Training images per seed (bundled digits: the rest of the 1,797 are the test set; MNIST and
    CIFAR-10: a random subset of the training files, tested on the whole test file)."""
    seeds: int = 3
    """Seeds: each draws its own images, placements and initial weights."""
    tasks: tuple[str, ...] = ("digit", "quadrant")
    """`SoftTask` names; ``cifar10`` needs CIFAR-10 in ``--data-dir``."""
    train: MarglikSettings = field(default_factory=_default_training)
    """Training of the weights and prior precisions; ``learn_prior`` is set per run (False for MAP,
    True for the learned priors), whatever it says here."""
    multi: MultiConfig = field(default_factory=MultiConfig)
    """The second experiment (Section 6.3, multiple symmetries) on the digit task's canvases, with
    this config's ``size``, ``widths``, ``strides``, ``train_size`` and ``seeds``."""

    def __post_init__(self) -> None:
        if not isinstance(self.tasks, tuple) or not self.tasks:
            raise ValueError(f"tasks must be a non-empty tuple of {SoftTask.values()}, got {self.tasks!r}")
        tasks = tuple(str(SoftTask.parse(t, "tasks")) for t in self.tasks)
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"tasks must name each task once, got {self.tasks!r}")
        object.__setattr__(self, "tasks", tasks)
        if any(w < 1 for w in self.widths):
            raise ValueError(f"widths must be positive, got {self.widths}")
        if any(s not in (1, 2) for s in self.strides):
            raise ValueError(f"strides must be 1 or 2, got {self.strides}")
        if not isinstance(self.train, MarglikSettings):
            raise TypeError(f"train must be a MarglikSettings, got {type(self.train).__name__}")
        if not isinstance(self.multi, MultiConfig):
            raise TypeError(f"multi must be a MultiConfig, got {type(self.multi).__name__}")


def check_config(config: SoftConfig) -> SoftConfig:
    """``config`` when its fields fit together (checked when a run or an estimate starts, since presets
    and ``--set`` change one field at a time).

    Raises
    ------
    ValueError
        when ``widths`` and ``strides`` differ in length, or ``size`` is odd or not a multiple of the
        product of the strides.
    """
    if len(config.widths) != len(config.strides) or not config.widths:
        raise ValueError(
            f"widths and strides must have one entry per block, got {len(config.widths)} widths and "
            f"{len(config.strides)} strides"
        )
    if config.multi.enabled and any(config.multi.alpha * w % 4 for w in config.widths):
        raise ValueError(
            f"multi.alpha times every entry of widths must be a multiple of 4 (the p4 path folds its group "
            f"axis into the channels), got multi.alpha {config.multi.alpha} and widths {config.widths}"
        )
    if config.size % 2 or config.size % math.prod(config.strides):
        raise ValueError(
            f"size must be even (a move between quadrants is a shift by half of it) and a multiple of the "
            f"product of strides, {math.prod(config.strides)}, got {config.size}"
        )
    return config


def task_shape(task: str) -> tuple[int, int]:
    """``(input channels, classes)`` of a task."""
    return 3 if task == SoftTask.CIFAR10 else 1, 40 if task == SoftTask.QUADRANT else 10


QUICK: dict[str, object] = {
    "seeds": 2,
    "train_size": 200,
    "alpha": 2,
    "train.epochs": 2,
    "train.burn_in": 1,
    "train.frequency": 1,
    "train.hyper_steps": 2,
    "multi.train.epochs": 2,
    "multi.train.burn_in": 1,
    "multi.train.frequency": 1,
    "multi.train.hyper_steps": 2,
}
"""The ``--quick`` preset: two seeds, few images and epochs, narrow networks: does everything run?"""

PAPER: dict[str, object] = {
    "alpha": 10,
    "widths": (1, 2, 2, 4, 4, 8, 8, 16),
    "strides": (1, 2, 1, 2, 1, 2, 2, 2),
    "size": 32,
    "train_size": 50000,
    "train.epochs": 999,
    "train.batch_size": 128,
    "train.marglik_batch_size": 150,
    "train.burn_in": 10,
    "train.frequency": 5,
    "train.hyper_steps": 20,
    "train.hyper_lr": 0.1,
    "train.ggn": "exact",
    "multi.alpha": 8,  # the nearest multiple of 4 (the folded p4 axis) below the paper's alpha = 10
    "multi.train.epochs": 999,
    "multi.train.batch_size": 128,
    "multi.train.marglik_batch_size": 150,
    "multi.train.burn_in": 10,
    "multi.train.ggn": "exact",
}
"""The ``--set scale=paper`` preset: the paper's widths, strides, input size, data and training, for a GPU."""
