"""Study ``sharing``: parameter sharing against a plain MLP on a permutation-invariant task.

Ravanbakhsh, Schneider & Póczos (ICML 2017) build S_n-equivariant layers by tying weights over orbits.
This study trains, on the same data and with the same optimiser:

- ``sharing``: an `EquivariantMLP` of dense `EquivariantLinear` layers on S_n acting on the set, with
  an orbit-pooling head and a small invariant MLP after it;
- ``size-generic``: the same architecture from `SetLinear` layers with mean aggregation, whose
  parameters do not depend on the set size, so it is also tested on larger sets;
- ``mlp``: a plain MLP on the flattened set, its width chosen to match the ``sharing`` network's
  parameter count.

The task (`eqlab.data.gaussian_scale_sets`) is to estimate log sigma from a set of samples of
N(mu, sigma^2); it is exactly S_n-invariant. Reported: test MSE against training-set size, the
invariance error of every model in float64, and the size-generic model's MSE on larger sets.

Each seed draws its own training sets and test sets; the three models of one (size, seed) are paired:
they train and are tested on the same sets. The paper reports no experiment of this kind, so the
``paper`` preset is a larger sweep of the same design (more sets, larger sets, more seeds).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.data._sets import gaussian_scale_sets
from eqlab.groups import symmetric
from eqlab.runs import Figure, Report, RunFolder, Study, Table, judge
from eqlab.runs._config import config_to_dict
from eqlab.runs._cost import CostEstimate, seconds_per_step
from eqlab.runs._verdict import mean_interval
from eqlab.sharing._ign import SetLinear
from eqlab.sharing._mlp import EquivariantMLP
from eqlab.studies._plotting import errorbar_plot, save_figure
from eqlab.studies._reading import log_ratio, maximum
from eqlab.testing import equivariance_error
from eqlab.train import TrainSettings, train

__all__ = ["STUDY", "SharingConfig", "SharingResults", "SharingUnit", "build_model", "report", "run"]

MODELS = ("sharing", "size-generic", "mlp")


@dataclass(frozen=True)
class SharingConfig:
    """Scale of the ``sharing`` study (defaults fit about 1 minute on 2 cores)."""

    set_size: int = 10
    train_sizes: tuple[int, ...] = (32, 128, 512, 2048)
    test_sets: int = 2000
    larger_set_sizes: tuple[int, ...] = (20, 40, 80)
    seeds: int = 3
    width: int = 32
    train: TrainSettings = field(
        default_factory=lambda: TrainSettings(epochs=19, batch_size=32, lr=3e-3, checkpoint_every=5)
    )
    """Training at the LARGEST training size: ``epochs`` there (19 epochs of 64 batches of 32 on 2048 sets
    are 1216 optimiser steps) and a checkpoint every ``checkpoint_every`` of them. Every smaller size takes
    the same number of optimiser steps (its epochs rounded up to a whole epoch) and checkpoints as often in
    steps; see `train_settings`."""


@dataclass(frozen=True)
class LargerSet:
    """The size-generic model on sets larger than those it was trained on."""

    set_size: int
    test_mse: float
    baseline_mse: float
    """The MSE of predicting the training targets' mean."""


@dataclass(frozen=True)
class SharingUnit:
    """One model trained on one training size with one seed."""

    model: str
    train_size: int
    seed_index: int
    params: int
    final_train_loss: float
    test_mse: float
    baseline_mse: float
    """The MSE of predicting the training targets' mean."""
    invariance_error: float
    """The relative float64 invariance error under 8 random permutations of the set."""
    larger_sets: tuple[LargerSet, ...] = ()


@dataclass(frozen=True)
class SharingResults:
    """Every unit of a ``sharing`` run."""

    units: tuple[SharingUnit, ...]


class _SetNet(nn.Module):
    """Size-generic invariant network: two `SetLinear` layers, mean pooling, an MLP head."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            SetLinear(1, width, aggregation="mean"),
            nn.ReLU(),
            SetLinear(width, width, aggregation="mean"),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, n) -> (B, 1)`` for any ``n``."""
        return self.head(self.body(x.unsqueeze(-1)).mean(dim=-2))


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _mlp(inputs: int, budget: int) -> nn.Module:
    """A 2-hidden-layer MLP whose width makes its parameter count closest to ``budget``."""
    # params = inputs*h + h + h*h + h + h + 1 = h^2 + (inputs + 3) h + 1
    b = inputs + 3
    width = max(1, round((-b + math.sqrt(b * b + 4 * (budget - 1))) / 2))
    return nn.Sequential(
        nn.Linear(inputs, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1)
    )


def build_model(name: str, config: SharingConfig) -> nn.Module:
    """One of `MODELS`, freshly initialised from torch's global generator."""
    s_n = symmetric(config.set_size).action()
    if name == "sharing":
        return EquivariantMLP(s_n, [config.width, config.width], 1, head_channels=[config.width])
    if name == "size-generic":
        return _SetNet(config.width)
    if name == "mlp":
        budget = _count(EquivariantMLP(s_n, [config.width, config.width], 1, head_channels=[config.width]))
        return _mlp(config.set_size, budget)
    raise ValueError(f"model must be one of {MODELS}, got {name!r}")


def _invariance_error(model: nn.Module, x: torch.Tensor, rng: np.random.Generator) -> float:
    perms = np.stack([rng.permutation(x.shape[-1]) for _ in range(8)])
    return equivariance_error(model, x, perms, [lambda t: t] * len(perms))


def _mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float(((model(x) - y) ** 2).mean())


def _steps_per_epoch(config: SharingConfig, size: int) -> int:
    """Batches in one epoch over ``size`` training sets (the last one may be smaller)."""
    return math.ceil(size / min(config.train.batch_size, size))


def train_settings(config: SharingConfig, size: int) -> TrainSettings:
    """The training settings at ``size`` training sets.

    ``config.train.epochs`` and ``config.train.checkpoint_every`` count epochs at the largest training
    size. A smaller size takes as many epochs as give the same number of optimiser steps, rounded up to a
    whole epoch, and checkpoints after about as many steps. The batch is at most ``size`` sets.
    """
    largest = _steps_per_epoch(config, max(config.train_sizes))
    per_epoch = _steps_per_epoch(config, size)
    epochs = math.ceil(config.train.epochs * largest / per_epoch)
    every = max(1, round(config.train.checkpoint_every * largest / per_epoch))
    return dataclasses.replace(
        config.train,
        epochs=epochs,
        batch_size=min(config.train.batch_size, size),
        checkpoint_every=min(every, epochs),
    )


def optimiser_steps(config: SharingConfig, size: int) -> int:
    """The optimiser steps of one model trained on ``size`` sets."""
    return train_settings(config, size).epochs * _steps_per_epoch(config, size)


def _train_unit(
    config: SharingConfig, run: RunFolder, model_name: str, size: int, seed_index: int
) -> SharingUnit:
    # the three models of one (size, seed) share its training and test sets
    x_train, y_train = gaussian_scale_sets(
        size, config.set_size, run.generator("train sets", size, seed_index)
    )
    x_test, y_test = gaussian_scale_sets(
        config.test_sets, config.set_size, run.generator("test sets", seed_index)
    )
    torch.manual_seed(run.seed_for("init", model_name, size, seed_index))
    model = build_model(model_name, config).to(run.device)
    unit = f"{model_name}-n{size}-s{seed_index}"
    history = train(
        model,
        TensorDataset(x_train, y_train),
        train_settings(config, size),
        loss_fn=nn.functional.mse_loss,
        seed=run.seed_for("batch order", model_name, size, seed_index),
        run=run,
        unit=unit,
        config=config_to_dict(config),
    )
    model = model.cpu().eval()  # the float64 invariance measurement runs on CPU
    larger = []
    if model_name == "size-generic":
        for n in config.larger_set_sizes:
            x_big, y_big = gaussian_scale_sets(
                config.test_sets, n, run.generator("larger sets", n, seed_index)
            )
            larger.append(
                LargerSet(n, _mse(model, x_big, y_big), float(((y_big - y_train.mean()) ** 2).mean()))
            )
    return SharingUnit(
        model=model_name,
        train_size=size,
        seed_index=seed_index,
        params=_count(model),
        final_train_loss=history["train_loss"][-1],
        test_mse=_mse(model, x_test, y_test),
        baseline_mse=float(((y_test - y_train.mean()) ** 2).mean()),
        invariance_error=_invariance_error(model, x_test[:256], run.rng("permutations", seed_index)),
        larger_sets=tuple(larger),
    )


def run(config: SharingConfig, run_dir: RunFolder) -> SharingResults:
    """Train every model at every training size and seed; one work unit each (resumable)."""
    units = [
        run_dir.unit(
            f"{model_name}-n{size}-s{seed_index}",
            functools.partial(_train_unit, config, run_dir, model_name, size, seed_index),
            SharingUnit,
        )
        for seed_index in range(config.seeds)
        for size in config.train_sizes
        for model_name in MODELS
    ]
    return SharingResults(tuple(units))


def estimate(config: SharingConfig, device: str) -> CostEstimate:
    """The training time of ``config``: one step of each model timed at the config's set size and batch,
    times the optimiser steps of every (size, seed) (`optimiser_steps`)."""
    batch = gaussian_scale_sets(config.train.batch_size, config.set_size, torch.Generator().manual_seed(0))
    with torch.random.fork_rng(devices=[]):  # the models' initialisation leaves the global generator alone
        per_step = sum(
            seconds_per_step(build_model(name, config), lambda: batch, nn.functional.mse_loss, device)
            for name in MODELS
        )
    steps = config.seeds * sum(optimiser_steps(config, size) for size in config.train_sizes)
    return CostEstimate(
        seconds=per_step * steps,
        steps=steps * len(MODELS),
        seconds_per_step=per_step / len(MODELS),
        timed_steps=3,
        device=device,
        what=f"each of the {len(MODELS)} models on a batch of {config.train.batch_size} sets of "
        f"{config.set_size}",
    )


def _pick(units: tuple[SharingUnit, ...], model: str, size: int) -> list[SharingUnit]:
    return sorted((u for u in units if u.model == model and u.train_size == size), key=lambda u: u.seed_index)


def _values(units: tuple[SharingUnit, ...], model: str, size: int, key: str) -> list[float]:
    return [getattr(u, key) for u in _pick(units, model, size)]


def _larger(unit: SharingUnit, n: int) -> LargerSet:
    """The unit's measurement on sets of ``n``; NaN MSEs (so its claim is not measurable) if it has none."""
    return next((big for big in unit.larger_sets if big.set_size == n), LargerSet(n, math.nan, math.nan))


FLOOR = 1e-17
"""Errors are floored here before log10 (an exact 0 has no logarithm)."""


def verdicts(config: SharingConfig, results: SharingResults) -> list:
    """The study's claims, decided from the results."""
    units = results.units
    sizes = list(config.train_sizes)
    out = [
        judge(
            "the parameter-sharing network is invariant to machine precision (log10 relative error, floored "
            "at 1e-17, < -12)",
            [math.log10(max(u.invariance_error, FLOOR)) for u in units if u.model == "sharing"],
            threshold=-12,
            direction="less",
            kind="demonstration",
            exact="a weight-tied layer computes the same sums in another order under a permutation, so its "
            "error is rounding or exactly 0, which the floor maps to one value",
        )
    ]
    for size in sizes:
        gaps = [
            log_ratio(m.test_mse, s.test_mse)
            for m, s in zip(_pick(units, "mlp", size), _pick(units, "sharing", size), strict=True)
        ]
        out.append(
            judge(
                f"with {size} training sets and the same parameter budget, the sharing network's test MSE is "
                "lower than the MLP's (log MSE ratio MLP/sharing > 0)",
                gaps,
            )
        )
    largest = max(sizes)
    for n in config.larger_set_sizes:
        gains = [
            log_ratio(_larger(u, n).baseline_mse, _larger(u, n).test_mse)
            for u in _pick(units, "size-generic", largest)
        ]
        out.append(
            judge(
                f"the size-generic network trained on sets of {config.set_size} beats the constant predictor "
                f"on sets of {n} (log MSE ratio baseline/model > 0)",
                gains,
            )
        )
    return out


def report(config: SharingConfig, results: SharingResults, plots: Path) -> Report:
    """Verdicts, tables and plots from saved results."""
    units = results.units
    sizes = list(config.train_sizes)
    rows = []
    for model in MODELS:
        for size in sizes:
            mse = _values(units, model, size, "test_mse")
            err = _values(units, model, size, "invariance_error")
            params = _values(units, model, size, "params")[0]
            mean, low, high = mean_interval(mse)
            rows.append([model, size, params, mean, low, high, maximum(err)])
    table = Table(
        "Test MSE (mean over seeds and its 95% interval) and the largest invariance error over seeds",
        ["model", "training sets", "parameters", "test MSE", "low", "high", "max invariance error"],
        rows,
    )
    baseline = float(np.mean([u.baseline_mse for u in units]))

    fig, ax = errorbar_plot(
        {m: {s: _values(units, m, s, "test_mse") for s in sizes} for m in MODELS},
        xlabel="training sets",
        ylabel="test MSE",
        logx=True,
        logy=True,
    )
    ax.axhline(baseline, color="grey", linestyle=":", label="constant predictor")
    ax.legend()
    ax.set_title(f"Estimating log sigma from sets of {config.set_size}")
    save_figure(fig, plots / "test_mse.png")

    fig, ax = errorbar_plot(
        {
            m: {s: [max(e, FLOOR) for e in _values(units, m, s, "invariance_error")] for s in sizes}
            for m in MODELS
        },
        xlabel="training sets",
        ylabel="relative invariance error (float64)",
        logx=True,
        logy=True,
    )
    ax.axhline(1e-12, color="grey", linestyle=":", label="1e-12")
    ax.legend()
    ax.set_title("Invariance error under random permutations of the set")
    save_figure(fig, plots / "invariance_error.png")

    largest = max(sizes)
    generic = _pick(units, "size-generic", largest)
    by_n = {config.set_size: [u.test_mse for u in generic]}
    base_n = {config.set_size: [u.baseline_mse for u in generic]}
    for n in config.larger_set_sizes:
        by_n[n] = [_larger(u, n).test_mse for u in generic]
        base_n[n] = [_larger(u, n).baseline_mse for u in generic]
    fig, ax = errorbar_plot(
        {"size-generic": by_n, "constant predictor": base_n},
        xlabel="set size at test time",
        ylabel="test MSE",
        logx=True,
        logy=True,
    )
    ax.axvline(config.set_size, color="grey", linestyle=":", label="training set size")
    ax.legend()
    ax.set_title(f"One model, any set size (trained with {largest} sets of {config.set_size})")
    save_figure(fig, plots / "larger_sets.png")

    worst = {m: maximum(u.invariance_error for u in units if u.model == m) for m in MODELS}
    worst_text = ", ".join(f"{m} {worst[m]:.1e}" for m in MODELS)
    notes = [
        f"{config.seeds} seeds per point. Each seed draws its own training and test sets; the three "
        "models of one training size and seed are paired: they train and are tested on the same sets.",
        f"Every model takes the same number of optimiser steps whatever the training-set size: "
        f"{config.train.epochs} epochs at {max(sizes)} sets, "
        + ", ".join(f"{optimiser_steps(config, size)} steps at {size}" for size in sizes)
        + f" (batches of {config.train.batch_size}, {config.train.optimizer}, {config.train.schedule} "
        "schedule; a smaller size rounds up to a whole epoch).",
        "The MLP cannot take sets of another size, so only the size-generic network is tested on larger "
        "sets.",
    ]
    return Report(
        study="sharing",
        title="Parameter sharing: an S_n-invariant network against an MLP",
        paper="Ravanbakhsh, Schneider & Póczos, Equivariance Through Parameter-Sharing (ICML 2017)",
        claim=(
            "Tying weights over the orbits of a group makes a layer equivariant for every value of its "
            "parameters; on a task with that symmetry, the equivariant network should need fewer "
            "examples than an unconstrained network of the same size, and the S_n layers' parameters "
            "do not depend on n, so one model serves every set size."
        ),
        measured=(
            f"Test MSE of predicting log sigma from {config.set_size} samples of N(mu, sigma^2), for "
            f"training sets of {', '.join(map(str, sizes))} examples; the relative float64 "
            "invariance error under random permutations; and the size-generic model's MSE on sets of "
            f"{', '.join(map(str, config.larger_set_sizes))}."
        ),
        verdicts=verdicts(config, results),
        tables=[table],
        figures=[
            Figure(
                "test_mse.png",
                "Test MSE against training-set size (mean with 95% interval over seeds). "
                "Lower is better; the dotted line predicts the training mean.",
            ),
            Figure(
                "invariance_error.png",
                "Relative invariance error in float64 (floored at 1e-17 for the log scale; the dotted line "
                f"is 1e-12). Largest measured, per model: {worst_text}.",
            ),
            Figure(
                "larger_sets.png",
                "The size-generic model on sets larger than any seen in training, beside the constant "
                "predictor (mean with 95% interval over seeds).",
            ),
        ],
        notes=notes,
        key_figure="test_mse.png",
    )


STUDY = Study(
    name="sharing",
    summary="Parameter sharing (Ravanbakhsh et al. 2017): invariant set network vs MLP, any set size",
    config=SharingConfig,
    results=SharingResults,
    run=run,
    report=report,
    budget_minutes=1.5,
    quick={
        "train_sizes": (32, 128),
        "seeds": 2,
        "train.epochs": 15,
        "train.checkpoint_every": 4,
        "test_sets": 200,
        "larger_set_sizes": (20,),
        "width": 8,
    },
    paper={
        "set_size": 20,
        "train_sizes": (128, 1024, 8192, 65536),
        "test_sets": 10000,
        "larger_set_sizes": (40, 80, 160, 320),
        "seeds": 10,
        "train.epochs": 40,
        "train.checkpoint_every": 10,
        "width": 128,
        "train.batch_size": 128,
    },
    estimate=estimate,
)
