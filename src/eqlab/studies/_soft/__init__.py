"""Study ``soft``: learning layer-wise translation equivariance with the marginal likelihood
(van der Ouderaa, Immer & van der Wilk, NeurIPS 2023), on the paper's toy problem (Section 6.1).

Each digit is pasted into a random quadrant of a zero canvas twice its side and the canvas resized to
the input size (`eqlab.data._quadrants`). Without ``--data-dir`` the digits are the bundled 8 x 8 ones on
a 16 x 16 canvas; with ``--data-dir`` holding MNIST they are MNIST's 28 x 28 digits on a 56 x 56 canvas,
resized (the paper: to 32 x 32). Tasks: ``digit`` (label = digit; moving a digit between quadrants is a
circular shift by half the canvas, so translation symmetry holds), ``quadrant`` (label = digit + 10 x
quadrant; the symmetry must be broken somewhere) and, with CIFAR-10 in ``--data-dir``, ``cifar10`` (the
paper's Section 6.2 data). Models: `soft_backbone` with ``conv``, ``fc``, ``fc+conv`` and ``ffc+conv``
blocks, each trained with fixed priors (MAP) and with prior precisions learned by the Kronecker-factored
Laplace marginal likelihood (`train_marglik`).

The amount of equivariance of a two-path block is read three ways: the prior precisions of its paths'
weights, their weight norms, and the share of the block's pre-activation output norm that comes from
the convolution path on test inputs.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from eqlab._options import Option
from eqlab.bayes import MarglikSettings, train_marglik
from eqlab.data._digits import digits
from eqlab.data._files import load_cifar10, load_mnist
from eqlab.data._quadrants import quadrant_canvases, resize_square
from eqlab.data._splits import split_indices
from eqlab.nn._soft import SoftBlock, soft_backbone
from eqlab.runs import Figure, Report, RunFolder, Study, Table, Verdict, judge
from eqlab.runs._config import config_to_dict
from eqlab.runs._cost import CostEstimate, seconds_per_step
from eqlab.runs._verdict import mean_interval
from eqlab.studies._plotting import save_figure
from eqlab.testing import equivariance_error

__all__ = [
    "MODELS",
    "STUDY",
    "BlockMeasure",
    "Evidence",
    "SoftConfig",
    "SoftResults",
    "SoftTask",
    "SoftUnit",
    "build_model",
    "check_config",
    "estimate",
    "report",
    "run",
    "verdicts",
]


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
PRIORS = ("map", "marglik")
"""Fixed prior precisions (MAP) or prior precisions learned by the marginal likelihood."""
SYMMETRIC = ("digit", "cifar10")
"""The tasks where translation symmetry holds (exactly between quadrants, roughly on CIFAR-10)."""
FLOOR = 1e-17
"""Shift errors are floored here before log10 (an exact 0 has no logarithm)."""
SHIFT_TOLERANCE = 1e-10
"""The float64 shift error below which a network counts as exactly invariant."""


def _default_training() -> MarglikSettings:
    return MarglikSettings(
        epochs=25, batch_size=64, lr=3e-3, burn_in=5, frequency=5, hyper_steps=20, hyper_lr=0.1, ggn="mc"
    )


@dataclass(frozen=True)
class SoftConfig:
    """Scale of the ``soft`` study (defaults: about 6 minutes on 2 cores, within its 8 minute budget)."""

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


@dataclass(frozen=True)
class BlockMeasure:
    """How much one block of a trained network uses each of its paths (``None``: the block lacks it)."""

    block: str
    """The block's name in the network (``"0"``, ``"1"``, ...)."""
    conv_precision: float | None
    """The geometric mean of the prior precisions of the convolution path's weights."""
    dense_precision: float | None
    """The geometric mean of the prior precisions of the dense path's weights."""
    conv_norm: float | None
    """The norm of the convolution path's weights."""
    dense_norm: float | None
    """The norm of the dense path's weights."""
    conv_share: float | None
    """Two-path blocks: ``|conv(h)| / (|conv(h)| + |dense(h)|)`` averaged over 256 test inputs."""


@dataclass(frozen=True)
class Evidence:
    """The log marginal likelihood per data point at one epoch."""

    epoch: int
    log_evidence: float


@dataclass(frozen=True)
class SoftUnit:
    """One network trained on one task with one seed, with fixed or learned priors."""

    task: str
    model: str
    priors: str
    """``"map"`` (fixed prior precisions) or ``"marglik"`` (learned)."""
    seed_index: int
    source: str
    """Where the images came from: ``"bundled digits"``, ``"MNIST"`` or ``"CIFAR-10"``."""
    train_size: int
    test_size: int
    parameters: int
    test_accuracy: float
    shift_error: float
    """The float64 relative change of the logits under circular shifts by half the canvas (a move
    between quadrants), on 64 test images: 0 for an invariant network."""
    train_loss: tuple[float, ...]
    """Per epoch."""
    evidence: tuple[Evidence, ...]
    """Whenever the marginal likelihood was computed (with fixed priors too)."""
    groups: tuple[str, ...]
    """The parameter groups, one prior precision each."""
    prior_precision: tuple[float, ...]
    """The final prior precision of each group."""
    blocks: tuple[BlockMeasure, ...]


@dataclass(frozen=True)
class SoftResults:
    """Every unit of a ``soft`` run."""

    units: tuple[SoftUnit, ...]


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
    if config.size % 2 or config.size % math.prod(config.strides):
        raise ValueError(
            f"size must be even (a move between quadrants is a shift by half of it) and a multiple of the "
            f"product of strides, {math.prod(config.strides)}, got {config.size}"
        )
    return config


# --- data ----------------------------------------------------------------------------------------------


@dataclass
class _TaskData:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str


class _Data:
    """Each seed's images of each task, drawn from named streams and kept for the units of that seed;
    the files of ``--data-dir`` are read once."""

    def __init__(self, config: SoftConfig, run: RunFolder) -> None:
        self.config, self.run = config, run
        self.files: dict[tuple[str, bool], tuple[torch.Tensor, torch.Tensor]] = {}
        self.current: tuple[tuple[str, int], _TaskData] | None = None

    def _file(self, name: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        if (name, train) not in self.files:
            assert self.run.data_dir is not None
            loader = load_mnist if name == "mnist" else load_cifar10
            self.files[name, train] = loader(self.run.data_dir, train)
        return self.files[name, train]

    def get(self, task: str, seed_index: int) -> _TaskData:
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

    def _draw(self, task: str, seed_index: int) -> _TaskData:
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
            return _TaskData(
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
            return _TaskData(canvases[train], targets[train], canvases[test], targets[test], "bundled digits")
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
        return _TaskData(x_train, y_train, x_test, y_test, "MNIST")


# --- one unit ------------------------------------------------------------------------------------------


def build_model(config: SoftConfig, task: str, model_name: str) -> nn.Sequential:
    """The network of ``model_name`` for ``task`` at the config's size, initialised from torch's global
    generator."""
    return soft_backbone(
        model_name,
        alpha=config.alpha,
        size=config.size,
        in_channels=_shape(task)[0],
        num_classes=_shape(task)[1],
        widths=config.widths,
        strides=config.strides,
    )


def _blocks(model: nn.Sequential) -> list[tuple[str, SoftBlock]]:
    return [(name, m) for name, m in model.named_children() if isinstance(m, SoftBlock)]


def _path_shares(model: nn.Sequential, x: torch.Tensor) -> dict[str, float]:
    """Per two-path block: |conv path output| / (|conv| + |dense|), averaged over the inputs."""
    shares = {}
    h = x
    with torch.no_grad():
        for name, layer in model.named_children():
            if isinstance(layer, SoftBlock) and layer.conv is not None and layer.dense is not None:
                conv = layer.conv(h).flatten(1).norm(dim=1)
                dense = layer.dense(h).flatten(1).norm(dim=1)
                shares[name] = float((conv / (conv + dense).clamp_min(1e-12)).mean())
            if not isinstance(layer, SoftBlock):
                break
            h = layer(h)
    return shares


def _block_measures(
    model: nn.Sequential, groups: Sequence[str], precisions: Sequence[float], shares: dict[str, float]
) -> tuple[BlockMeasure, ...]:
    by_name = dict(zip(groups, precisions, strict=True))
    params = dict(model.named_parameters())
    out = []
    for name, _ in _blocks(model):
        found: dict[str, tuple[float, float] | None] = {}
        for path in ("conv", "dense"):
            keys = [k for k in by_name if k.startswith(f"{name}.{path}.") and k.endswith("weight")]
            found[path] = (
                (
                    float(np.exp(np.mean([math.log(by_name[k]) for k in keys]))),
                    math.sqrt(sum(float(params[k].detach().double().pow(2).sum()) for k in keys)),
                )
                if keys
                else None
            )
        conv, dense = found["conv"], found["dense"]
        out.append(
            BlockMeasure(
                block=name,
                conv_precision=conv[0] if conv else None,
                dense_precision=dense[0] if dense else None,
                conv_norm=conv[1] if conv else None,
                dense_norm=dense[1] if dense else None,
                conv_share=shares.get(name),
            )
        )
    return tuple(out)


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: str) -> float:
    correct = 0
    with torch.no_grad():
        for start in range(0, len(y), 1000):
            logits = model(x[start : start + 1000].to(device))
            correct += int((logits.argmax(1) == y[start : start + 1000].to(device)).sum())
    return correct / len(y)


def _shift_error(model: nn.Module, x: torch.Tensor) -> float:
    """The float64 relative change of the logits under circular shifts by half the canvas."""
    half = x.shape[-1] // 2
    shifts = [
        functools.partial(torch.roll, shifts=s, dims=(-2, -1)) for s in ((half, 0), (0, half), (half, half))
    ]
    return equivariance_error(model, x, shifts, [_identity] * len(shifts))


def _identity(t: torch.Tensor) -> torch.Tensor:
    return t


def unit_name(task: str, model_name: str, priors: str, seed_index: int) -> str:
    """The name of a unit (its result file and its checkpoint)."""
    return f"{task}-{model_name.replace('+', '_')}-{priors}-s{seed_index}"


def _train_unit(
    config: SoftConfig, run: RunFolder, data: _Data, task: str, model_name: str, priors: str, seed_index: int
) -> SoftUnit:
    images = data.get(task, seed_index)
    with torch.random.fork_rng(devices=[]):  # MAP and learned priors start from the same weights
        torch.manual_seed(run.seed_for("init", task, model_name, seed_index))
        model = build_model(config, task, model_name)
    model = model.to(run.device)  # train_marglik moves each batch to the model's device
    history = train_marglik(
        model,
        TensorDataset(images.x_train, images.y_train),
        dataclasses.replace(config.train, learn_prior=priors == "marglik"),
        seed=run.seed_for("batches", task, model_name, seed_index),  # the same batches for both priors
        run=run,
        unit=unit_name(task, model_name, priors, seed_index),
        config=config_to_dict(config),
        checkpoint_every=max(1, config.train.epochs // 5),  # a dense network's checkpoint is megabytes
    )
    model.eval()
    shares = _path_shares(model, images.x_test[:256].to(run.device))
    cpu_model = copy.deepcopy(model).cpu()  # the float64 shift measurement runs on the CPU
    return SoftUnit(
        task=task,
        model=model_name,
        priors=priors,
        seed_index=seed_index,
        source=images.source,
        train_size=len(images.y_train),
        test_size=len(images.y_test),
        parameters=sum(p.numel() for p in model.parameters()),
        test_accuracy=_accuracy(model, images.x_test, images.y_test, run.device),
        shift_error=_shift_error(cpu_model, images.x_test[:64]),
        train_loss=tuple(float(v) for v in history["train_loss"]),
        evidence=tuple(Evidence(int(e), float(v)) for e, v in history["marglik"]),
        groups=tuple(history["groups"]),
        prior_precision=tuple(float(v) for v in history["prior_precision"]),
        blocks=_block_measures(cpu_model, history["groups"], history["prior_precision"], shares),
    )


def run(config: SoftConfig, run_dir: RunFolder) -> SoftResults:
    """Every (seed, task, model, priors) as a resumable work unit."""
    data = _Data(check_config(config), run_dir)
    units = [
        run_dir.unit(
            unit_name(task, model_name, priors, seed_index),
            functools.partial(_train_unit, config, run_dir, data, task, model_name, priors, seed_index),
            SoftUnit,
        )
        for seed_index in range(config.seeds)
        for task in config.tasks
        for model_name in MODELS
        for priors in PRIORS
    ]
    return SoftResults(tuple(units))


# --- cost of a scale -----------------------------------------------------------------------------------


def _random_batch(batch: int, channels: int, size: int, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, channels, size, size, generator=gen)
    return x, torch.randint(0, classes, (batch,), generator=gen)


def _step_seconds(model: nn.Module, batch: int, channels: int, size: int, classes: int, device: str) -> float:
    """One training step of ``model`` on a random batch of ``batch`` images, timed on ``device``.

    On a GPU the step is timed at that batch. On a CPU it is timed at two smaller batches (a sixteenth
    and a quarter of it, at least 1 and 2) and extrapolated along the line through them (a step's time
    is a part per parameter, the update, plus a part per example), since one step of the paper's dense
    networks at their batch takes seconds there.
    """
    if device == "cuda" or batch < 4:
        x, y = _random_batch(batch, channels, size, classes)
        return seconds_per_step(model, functools.partial(_pair, x, y), F.cross_entropy, device, steps=1)
    small, large = max(1, batch // 16), max(2, batch // 4)
    times = []
    for b in (small, large):
        x, y = _random_batch(b, channels, size, classes)
        times.append(
            seconds_per_step(model, functools.partial(_pair, x, y), F.cross_entropy, device, steps=1)
        )
    slope = max(0.0, (times[1] - times[0]) / (large - small))
    return times[1] + slope * (batch - large)


def _pair(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x, y


def _fits(settings: MarglikSettings) -> int:
    """How many times one run fits the Kronecker factors."""
    return sum(
        1
        for epoch in range(1, settings.epochs + 1)
        if epoch > settings.burn_in and (epoch - settings.burn_in) % settings.frequency == 0
    )


def _shape(task: str) -> tuple[int, int]:
    """``(input channels, classes)`` of a task."""
    return 3 if task == SoftTask.CIFAR10 else 1, 40 if task == SoftTask.QUADRANT else 10


def estimate(config: SoftConfig, device: str) -> CostEstimate:
    """The training time of ``config`` on ``device``: a step of each model at the config's size timed on
    random images (`_step_seconds`), times the optimiser steps and the factor-fitting passes of every
    run."""
    s = check_config(config).train
    per_step: dict[tuple[int, int, str], float] = {}  # by (channels, classes, model)
    for task in config.tasks:
        channels, classes = _shape(task)
        for name in MODELS:
            if (channels, classes, name) not in per_step:
                with torch.random.fork_rng(devices=[]):
                    model = build_model(config, task, name)
                per_step[channels, classes, name] = _step_seconds(
                    model, s.batch_size, channels, config.size, classes, device
                )
                del model
    steps = s.epochs * math.ceil(config.train_size / s.batch_size)
    # a fit is one pass over the training set; the exact GGN takes one backward pass per class
    passes = math.ceil(config.train_size / s.marglik_batch_size) * _fits(s)
    total, all_steps = 0.0, 0
    for task in config.tasks:
        channels, classes = _shape(task)
        backward = classes if str(s.ggn) == "exact" else 1
        for name in MODELS:
            for priors in PRIORS:
                fitting = priors == "marglik" or s.track_marglik
                job = (steps + (passes * backward if fitting else 0)) * config.seeds
                total += job * per_step[channels, classes, name]
                all_steps += job
    how = "at that batch" if device == "cuda" else "extrapolated from two smaller batches"
    return CostEstimate(
        seconds=total,
        steps=all_steps,
        seconds_per_step=total / max(all_steps, 1),
        timed_steps=1,
        device=device,
        what=f"each of the {len(MODELS)} models (alpha = {config.alpha}, {len(config.widths)} blocks) on "
        f"random batches of {s.batch_size} images of {config.size} x {config.size}, {how}; a fit of the "
        "factors counted as one step per batch and backward pass, its eigendecompositions not timed",
    )


# --- verdicts ------------------------------------------------------------------------------------------


def _select(units: Sequence[SoftUnit], task: str, model: str, priors: str) -> list[SoftUnit]:
    return sorted(
        (u for u in units if u.task == task and u.model == model and u.priors == priors),
        key=lambda u: u.seed_index,
    )


def _log_ratio(unit: SoftUnit) -> float:
    """Mean over two-path blocks of log(dense-path precision / conv-path precision)."""
    ratios = [
        math.log(b.dense_precision / b.conv_precision)
        for b in unit.blocks
        if b.dense_precision is not None and b.conv_precision is not None
    ]
    return float(np.mean(ratios))


def _accuracies(units: Sequence[SoftUnit], task: str, model: str, priors: str) -> list[float]:
    return [u.test_accuracy for u in _select(units, task, model, priors)]


def verdicts(config: SoftConfig, results: SoftResults) -> list[Verdict]:
    """The study's claims, decided from the results."""
    units = results.units
    tasks = config.tasks
    out = []
    conv = [u for u in units if u.model == "conv"]
    by_seed = sorted({u.seed_index for u in conv})
    out.append(
        judge(
            "CONV gives the same logits when every digit moves to another quadrant, a circular shift by half "
            "the canvas (largest float64 relative change over its runs of a seed, log10 floored at 1e-17, "
            f"< {math.log10(SHIFT_TOLERANCE):g})",
            [math.log10(max(max(u.shift_error for u in conv if u.seed_index == s), FLOOR)) for s in by_seed],
            threshold=math.log10(SHIFT_TOLERANCE),
            direction="less",
            kind="demonstration",
            exact="circular convolutions and adaptive polyphase subsampling down to 1 x 1 make the network "
            "invariant to circular shifts whatever its weights, so its error is rounding or exactly 0, which "
            "the floor maps to one value",
        )
    )
    for model_name in TWO_PATH:
        for task in (t for t in tasks if t in SYMMETRIC):
            out.append(
                judge(
                    f"{model_name}, {task} task (translation symmetry holds): the marginal likelihood "
                    "switches the non-equivariant path off (mean over blocks of log(dense-path / conv-path "
                    "prior precision) > 0)",
                    [_log_ratio(u) for u in _select(units, task, model_name, "marglik")],
                )
            )
        if SoftTask.DIGIT in tasks and SoftTask.QUADRANT in tasks:
            digit = [_log_ratio(u) for u in _select(units, "digit", model_name, "marglik")]
            quadrant = [_log_ratio(u) for u in _select(units, "quadrant", model_name, "marglik")]
            out.append(
                judge(
                    f"{model_name}: the dense paths are switched off less where the symmetry must be broken "
                    "(that log ratio on the digit task minus on the quadrant task, same canvases, > 0)",
                    [d - q for d, q in zip(digit, quadrant, strict=True)],
                )
            )
    for task in tasks:
        baseline = [
            max(c, f)
            for c, f in zip(
                _accuracies(units, task, "conv", "map"), _accuracies(units, task, "fc", "map"), strict=True
            )
        ]
        for model_name in TWO_PATH:
            learned = _accuracies(units, task, model_name, "marglik")
            out.append(
                judge(
                    f"{task} task: {model_name} with learned priors matches or beats the better hard-coded "
                    "baseline, CONV or FC with fixed priors (test accuracy difference > -0.02)",
                    [a - b for a, b in zip(learned, baseline, strict=True)],
                    threshold=-0.02,
                )
            )
        for model_name in TWO_PATH:
            learned = _accuracies(units, task, model_name, "marglik")
            fixed = _accuracies(units, task, model_name, "map")
            out.append(
                judge(
                    f"{task} task: {model_name} is more accurate with learned than with fixed priors "
                    "(paired test accuracy difference > 0)",
                    [a - b for a, b in zip(learned, fixed, strict=True)],
                )
            )
    return out


# --- report --------------------------------------------------------------------------------------------


def _half(values: Sequence[float]) -> float:
    """The half-width of the 95% interval of the mean (0 for one value)."""
    _, low, high = mean_interval(values)
    return 0.0 if math.isnan(low) else (high - low) / 2


def _geomean(values: Sequence[float]) -> float:
    return float(np.exp(np.mean(np.log(values))))


def _block_series(units: Sequence[SoftUnit], task: str, model: str, what: str) -> list[list[float]]:
    """Per two-path block: the per-seed values of ``what`` (``"share"`` or ``"log ratio"``) with learned
    priors."""
    sel = _select(units, task, model, "marglik")
    out = []
    for k, block in enumerate(sel[0].blocks if sel else ()):
        if block.conv_share is None:
            continue
        if what == "share":
            out.append([float(u.blocks[k].conv_share) for u in sel])  # type: ignore[arg-type]
        else:
            out.append(
                [
                    math.log(u.blocks[k].dense_precision / u.blocks[k].conv_precision)  # type: ignore[operator]
                    for u in sel
                ]
            )
    return out


def _equivariance_plot(config: SoftConfig, units: Sequence[SoftUnit], path: Path) -> None:
    tasks = config.tasks
    fig, axes = plt.subplots(
        2, len(tasks), figsize=(4.6 * len(tasks), 7), dpi=110, sharex=True, squeeze=False
    )
    for col, task in enumerate(tasks):
        for row, what in enumerate(("log ratio", "share")):
            ax = axes[row][col]
            for k, model_name in enumerate(TWO_PATH):
                series = _block_series(units, task, model_name, what)
                if not series:
                    continue
                xs = np.arange(len(series)) + 0.06 * k
                means = [float(np.mean(v)) for v in series]
                ax.errorbar(
                    xs, means, yerr=[_half(v) for v in series], marker="o", capsize=3, label=model_name
                )
                ax.set_xticks(range(len(series)))
            ax.axhline(0.0 if what == "log ratio" else 0.5, color="grey", linestyle=":")
            ax.grid(True, alpha=0.3)
            if row == 0:
                ax.set_title(f"{task} task, learned priors")
            else:
                ax.set_xlabel("block")
                ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("log(dense / conv prior precision)")
    axes[1][0].set_ylabel("conv-path share of the block output")
    axes[0][0].legend()
    save_figure(fig, path)


def _evidence_plot(config: SoftConfig, units: Sequence[SoftUnit], path: Path) -> None:
    tasks = config.tasks
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), dpi=110, squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for k, model_name in enumerate(MODELS):
            for priors, style in (("marglik", "-"), ("map", ":")):
                sel = _select(units, task, model_name, priors)
                if not sel or not sel[0].evidence:
                    continue
                curves = np.array([[e.log_evidence for e in u.evidence] for u in sel])
                epochs = [e.epoch for e in sel[0].evidence]
                ax.plot(
                    epochs, curves.mean(0), style, color=f"C{k}", marker="o", label=f"{model_name} ({priors})"
                )
        ax.set_title(f"{task} task")
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("log marginal likelihood / N (mean over seeds)")
    axes[0][0].legend(fontsize=7)
    save_figure(fig, path)


def _accuracy_plot(config: SoftConfig, units: Sequence[SoftUnit], path: Path) -> None:
    tasks = config.tasks
    fig, ax = plt.subplots(figsize=(3.5 + 2 * len(tasks), 4.8), dpi=110)
    width = 0.2
    for k, model_name in enumerate(MODELS):
        for j, priors in enumerate(PRIORS):
            values = [_accuracies(units, t, model_name, priors) for t in tasks]
            ax.bar(
                np.arange(len(tasks)) + (k - 1.5) * width + (j - 0.5) * width / 2,
                [float(np.mean(v)) for v in values],
                width / 2,
                yerr=[_half(v) for v in values],
                capsize=2,
                color=f"C{k}",
                alpha=0.5 if priors == "map" else 1.0,
                label=f"{model_name} ({priors})",
            )
    ax.set_xticks(range(len(tasks)), list(tasks))
    ax.set_ylabel("test accuracy (mean over seeds, 95% interval)")
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    ax.set_ylim(0, 1)
    ax.set_title("Pale: fixed priors (MAP); solid: learned priors")
    save_figure(fig, path)


def _tables(config: SoftConfig, units: Sequence[SoftUnit]) -> list[Table]:
    rows = []
    for task in config.tasks:
        for model_name in MODELS:
            for priors in PRIORS:
                sel = _select(units, task, model_name, priors)
                accuracy = [u.test_accuracy for u in sel]
                mean, low, high = mean_interval(accuracy)
                final = [u.evidence[-1].log_evidence for u in sel if u.evidence]
                rows.append(
                    [
                        task,
                        model_name,
                        priors,
                        sel[0].parameters,
                        mean,
                        low,
                        high,
                        max(u.shift_error for u in sel),
                        float(np.mean(final)) if final else math.nan,
                    ]
                )
    accuracy_table = Table(
        "Test accuracy (mean over seeds and its 95% interval), the largest shift error (logit change under "
        "moves between quadrants) and the final log marginal likelihood per data point",
        [
            "task",
            "model",
            "priors",
            "parameters",
            "test accuracy",
            "low",
            "high",
            "shift error",
            "log evidence / N",
        ],
        rows,
    )
    block_rows = []
    for task in config.tasks:
        for model_name in TWO_PATH:
            sel = _select(units, task, model_name, "marglik")
            for k, block in enumerate(sel[0].blocks if sel else ()):
                block_rows.append(
                    [
                        task,
                        model_name,
                        block.block,
                        _geomean([u.blocks[k].conv_precision for u in sel]),  # type: ignore[misc]
                        _geomean([u.blocks[k].dense_precision for u in sel]),  # type: ignore[misc]
                        float(np.mean([u.blocks[k].conv_norm for u in sel])),
                        float(np.mean([u.blocks[k].dense_norm for u in sel])),
                        float(np.mean([u.blocks[k].conv_share for u in sel])),
                    ]
                )
    block_table = Table(
        "Learned amount of equivariance per block (learned priors; geometric means of precisions, means of "
        "norms and shares over seeds)",
        [
            "task",
            "model",
            "block",
            "conv precision",
            "dense precision",
            "conv |w|",
            "dense |w|",
            "conv share",
        ],
        block_rows,
    )
    return [accuracy_table, block_table]


def _data_sentence(config: SoftConfig, units: Sequence[SoftUnit]) -> str:
    parts = []
    for task in config.tasks:
        sel = [u for u in units if u.task == task]
        if not sel:
            continue
        unit = sel[0]
        parts.append(
            f"{task}: {unit.train_size:,} training and {unit.test_size:,} test images from {unit.source}"
        )
    return "; ".join(parts)


def _premise_notes(config: SoftConfig, units: Sequence[SoftUnit]) -> list[str]:
    """CONV against FC with fixed priors, in the means (not judged), against what the paper's setting has."""
    notes = []
    for task in config.tasks:
        conv = _select(units, task, "conv", "map")
        fc = _select(units, task, "fc", "map")
        if not conv or not fc:
            continue
        a_conv = float(np.mean([u.test_accuracy for u in conv]))
        a_fc = float(np.mean([u.test_accuracy for u in fc]))
        if a_conv > a_fc:
            order = f"CONV is ahead by {a_conv - a_fc:.3f}"
        elif a_fc > a_conv:
            order = f"FC is ahead by {a_fc - a_conv:.3f}"
        else:
            order = "the two are level"
        expected = "CONV at least as accurate as FC" if task in SYMMETRIC else "FC ahead of CONV"
        matches = a_conv >= a_fc if task in SYMMETRIC else a_fc > a_conv
        verdict = (
            "the order the paper's setting has"
            if matches
            else "not the order the paper's setting has, so the learned-prior comparisons on this task are "
            "not like for like with the paper's"
        )
        notes.append(
            f"{task} task, fixed priors: CONV ({conv[0].parameters:,} parameters) reached a mean test "
            f"accuracy of {a_conv:.3f} and FC ({fc[0].parameters:,} parameters) {a_fc:.3f} over "
            f"{len(conv)} seed(s), so {order} (means, not judged). The paper's setting has {expected} on "
            f"this task: this is {verdict}."
        )
    return notes


def _size_note(config: SoftConfig, units: Sequence[SoftUnit]) -> str | None:
    task = config.tasks[0]
    counts = {
        m: _select(units, task, m, "map")[0].parameters for m in MODELS if _select(units, task, m, "map")
    }
    if len(counts) < len(MODELS):
        return None
    channels = 3 if task == SoftTask.CIFAR10 else 1
    first = config.alpha * config.widths[0] * (config.size // config.strides[0]) ** 2
    listed = ", ".join(f"{m.upper()} {counts[m]:,}" for m in MODELS)
    return (
        f"The dense path of the first block maps all {channels * config.size**2:,} input values to all "
        f"{first:,} outputs; parameters on the {task} task at alpha = {config.alpha}: {listed}."
    )


def report(config: SoftConfig, results: SoftResults, plots: Path) -> Report:
    """Verdicts, tables and plots from saved results."""
    units = results.units
    _equivariance_plot(config, units, plots / "equivariance.png")
    _evidence_plot(config, units, plots / "marglik.png")
    _accuracy_plot(config, units, plots / "accuracy.png")
    s = config.train
    notes = [
        "Each seed draws its own image order, train/test split or training subset, and quadrant placements "
        "(named seed streams with the seed index). Within a seed every model and both priors see the same "
        "images"
        + (
            ", and the digit and quadrant tasks the same canvases (only the labels differ), so the digit "
            "minus quadrant differences are paired"
            if SoftTask.DIGIT in config.tasks and SoftTask.QUADRANT in config.tasks
            else ""
        )
        + ". The fixed-prior (MAP) and learned-prior runs of one (task, model, seed) also share their "
        "initial weights and batch order, so each learned-minus-fixed difference is paired.",
        "The MAP runs keep every prior precision at its initial value; their evidence is computed at the "
        "same epochs with those fixed priors.",
        *_premise_notes(config, units),
    ]
    size_note = _size_note(config, units)
    if size_note:
        notes.append(size_note)
    notes += [
        "Inputs are pixel values in [0, 1], not standardised as in the paper. The paper trains the weights "
        "with SGD (momentum 0.9, cosine schedule); this study uses Adam.",
        "The sparsified paths (s-fc, s-conv, s-fc+s-conv in eqlab.nn._sparse) are not in this study, to keep "
        "it near its time budget.",
    ]
    return Report(
        study="soft",
        title="Learning layer-wise translation equivariance with the marginal likelihood",
        paper="van der Ouderaa, Immer & van der Wilk, Learning Layer-wise Equivariances Automatically using "
        "Gradients (NeurIPS 2023)",
        claim=(
            "With one prior precision per parameter tensor learned by a differentiable Kronecker-factored "
            "Laplace marginal likelihood, a network whose blocks sum a convolution and a dense path learns "
            "where to be equivariant: it switches the dense paths off where translation symmetry holds, "
            "keeps them where it must be broken, and matches or beats hard-coded convolutional and dense "
            "baselines."
        ),
        measured=(
            f"{config.seeds} seed(s) x {len(config.tasks)} task(s) x {len(MODELS)} models x (fixed or "
            f"learned priors) on {config.size} x {config.size} inputs ({_data_sentence(config, units)}); "
            f"alpha = {config.alpha}, {len(config.widths)} blocks; {s.epochs} epochs (Adam, lr {s.lr:g}, "
            f"batch {s.batch_size}), the evidence every {s.frequency} epoch(s) after {s.burn_in} "
            f"({s.hyper_steps} Adam steps on the log precisions each, {s.ggn} GGN)."
        ),
        verdicts=verdicts(config, results),
        tables=_tables(config, units),
        figures=[
            Figure(
                "equivariance.png",
                "Per two-path block with learned priors: log(dense / conv prior precision) (top; above 0 "
                "the dense path's prior is tighter) and the conv path's share of the block output (bottom); "
                "means over seeds with 95% intervals.",
            ),
            Figure(
                "accuracy.png",
                "Test accuracy per task and model, fixed (pale) and learned (solid) priors; means over seeds "
                "with 95% intervals.",
            ),
            Figure(
                "marglik.png",
                "Log marginal likelihood per data point during training (dotted: fixed priors).",
            ),
        ],
        notes=notes,
        key_figure="equivariance.png",
    )


STUDY = Study(
    name="soft",
    summary="Learned layer-wise equivariance (van der Ouderaa et al. 2023): marginal likelihood vs MAP",
    config=SoftConfig,
    results=SoftResults,
    run=run,
    report=report,
    budget_minutes=8.0,
    quick={
        "seeds": 2,
        "train_size": 200,
        "alpha": 2,
        "train.epochs": 2,
        "train.burn_in": 1,
        "train.frequency": 1,
        "train.hyper_steps": 2,
    },
    paper={
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
    },
    estimate=estimate,
)
