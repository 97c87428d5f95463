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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.data._sets import gaussian_scale_sets
from eqlab.groups import symmetric
from eqlab.runs import Figure, Report, RunFolder, Study, Table, judge
from eqlab.runs._config import config_to_dict
from eqlab.runs._seeding import unit_seed
from eqlab.sharing._ign import SetLinear
from eqlab.sharing._mlp import EquivariantMLP
from eqlab.studies._plotting import errorbar_plot, save_figure
from eqlab.testing import equivariance_error
from eqlab.train import TrainSettings, train

__all__ = ["STUDY", "SharingConfig", "build_model", "report", "run"]

MODELS = ("sharing", "size-generic", "mlp")


@dataclass(frozen=True)
class SharingConfig:
    """Scale of the ``sharing`` study (defaults fit about 3 minutes on 2 cores)."""

    set_size: int = 10
    train_sizes: tuple[int, ...] = (32, 128, 512, 2048)
    test_sets: int = 2000
    larger_set_sizes: tuple[int, ...] = (20, 40, 80)
    seeds: int = 3
    steps: int = 1200
    batch_size: int = 32
    lr: float = 3e-3
    width: int = 32


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


def _invariance_error(model: nn.Module, x: torch.Tensor, seed: int) -> float:
    rng = np.random.default_rng(seed)
    perms = np.stack([rng.permutation(x.shape[-1]) for _ in range(8)])
    return equivariance_error(model, x, perms, [lambda t: t] * len(perms))


def _mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float(((model(x) - y) ** 2).mean())


def _train_unit(
    config: SharingConfig, run: RunFolder, model_name: str, size: int, seed_index: int
) -> dict[str, Any]:
    data_seed = unit_seed(run.seed, 1, size, seed_index)  # same data for every model
    x_train, y_train = gaussian_scale_sets(size, config.set_size, torch.Generator().manual_seed(data_seed))
    test_gen = torch.Generator().manual_seed(unit_seed(run.seed, 2))
    x_test, y_test = gaussian_scale_sets(config.test_sets, config.set_size, test_gen)
    torch.manual_seed(unit_seed(run.seed, 3, MODELS.index(model_name), size, seed_index))
    model = build_model(model_name, config).to(run.device)
    batch = min(config.batch_size, size)
    epochs = max(1, math.ceil(config.steps * batch / size))
    settings = TrainSettings(
        epochs=epochs, batch_size=batch, lr=config.lr, checkpoint_every=max(1, epochs // 4)
    )
    unit = f"{model_name}-n{size}-s{seed_index}"
    history = train(
        model,
        TensorDataset(x_train, y_train),
        settings,
        loss_fn=nn.functional.mse_loss,
        seed=unit_seed(run.seed, 4, size, seed_index),
        run=run,
        unit=unit,
        config=config_to_dict(config),
    )
    model = model.cpu().eval()
    baseline = float(((y_test - y_train.mean()) ** 2).mean())
    result: dict[str, Any] = {
        "model": model_name,
        "train_size": size,
        "seed_index": seed_index,
        "params": _count(model),
        "final_train_loss": history["train_loss"][-1],
        "test_mse": _mse(model, x_test, y_test),
        "baseline_mse": baseline,
        "invariance_error": _invariance_error(model, x_test[:256], seed_index),
        "larger_sets": {},
    }
    if model_name == "size-generic":
        for n in config.larger_set_sizes:
            x_big, y_big = gaussian_scale_sets(
                config.test_sets, n, torch.Generator().manual_seed(unit_seed(run.seed, 5, n))
            )
            result["larger_sets"][str(n)] = {
                "test_mse": _mse(model, x_big, y_big),
                "baseline_mse": float(((y_big - y_train.mean()) ** 2).mean()),
            }
    return result


def run(config: SharingConfig, run_dir: RunFolder) -> dict[str, Any]:
    """Train every model at every training size and seed; one work unit each (resumable)."""
    units = []
    for seed_index in range(config.seeds):
        for size in config.train_sizes:
            for model_name in MODELS:
                name = f"{model_name}-n{size}-s{seed_index}"
                result = run_dir.unit_result(name)
                if result is None:
                    result = _train_unit(config, run_dir, model_name, size, seed_index)
                    run_dir.save_unit(name, result)
                units.append(result)
    return {"units": units, "models": list(MODELS)}


def _values(units: list[dict[str, Any]], model: str, size: int, key: str) -> list[float]:
    return [u[key] for u in units if u["model"] == model and u["train_size"] == size]


def report(config: SharingConfig, results: dict[str, Any], plots: Path) -> Report:
    """Verdicts, tables and plots from saved results."""
    units = results["units"]
    sizes = list(config.train_sizes)
    verdicts = []
    invariance = [math.log10(max(u["invariance_error"], 1e-300)) for u in units if u["model"] == "sharing"]
    verdicts.append(
        judge(
            "the parameter-sharing network is invariant to machine precision (log10 relative error < -12)",
            invariance,
            threshold=-12,
            direction="less",
        )
    )
    for size in sizes:
        gaps = [
            math.log(m / s)
            for m, s in zip(
                _values(units, "mlp", size, "test_mse"),
                _values(units, "sharing", size, "test_mse"),
                strict=True,
            )
        ]
        verdicts.append(
            judge(
                f"with {size} training sets and the same parameter budget, the sharing network's test MSE is "
                f"lower than the MLP's (log MSE ratio MLP/sharing > 0)",
                gaps,
                threshold=0.0,
            )
        )
    largest = max(sizes)
    for n in config.larger_set_sizes:
        gains = [
            math.log(u["larger_sets"][str(n)]["baseline_mse"] / u["larger_sets"][str(n)]["test_mse"])
            for u in units
            if u["model"] == "size-generic" and u["train_size"] == largest
        ]
        verdicts.append(
            judge(
                f"the size-generic network trained on sets of {config.set_size} beats the constant "
                f"predictor on "
                f"sets of {n} (log MSE ratio baseline/model > 0)",
                gains,
                threshold=0.0,
            )
        )

    rows = []
    for model in MODELS:
        for size in sizes:
            mse = _values(units, model, size, "test_mse")
            err = _values(units, model, size, "invariance_error")
            params = _values(units, model, size, "params")[0]
            rows.append([model, size, params, float(np.mean(mse)), float(np.std(mse)), float(np.max(err))])
    table = Table(
        "Test MSE (mean and std over seeds) and worst invariance error",
        ["model", "training sets", "parameters", "test MSE", "std", "max invariance error"],
        rows,
    )
    baseline = float(np.mean([u["baseline_mse"] for u in units]))

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
            m: {s: [max(e, 1e-17) for e in _values(units, m, s, "invariance_error")] for s in sizes}
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

    generic = [u for u in units if u["model"] == "size-generic" and u["train_size"] == largest]
    by_n = {config.set_size: [u["test_mse"] for u in generic]}
    base_n = {config.set_size: [u["baseline_mse"] for u in generic]}
    for n in config.larger_set_sizes:
        by_n[n] = [u["larger_sets"][str(n)]["test_mse"] for u in generic]
        base_n[n] = [u["larger_sets"][str(n)]["baseline_mse"] for u in generic]
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

    notes = [
        f"{config.seeds} seeds per point; verdicts use the runs layer's rule (95% Student-t interval).",
        f"Every model takes {config.steps} optimiser steps (Adam, cosine schedule) whatever the "
        "training-set size.",
        "The MLP cannot take sets of another size, so only the size-generic network is tested on "
        "larger sets.",
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
        verdicts=verdicts,
        tables=[table],
        figures=[
            Figure(
                "test_mse.png",
                "Test MSE against training-set size (mean with 95% interval over seeds). "
                "Lower is better; the dotted line predicts the training mean.",
            ),
            Figure(
                "invariance_error.png",
                "Relative invariance error in float64 (floored at 1e-17 for the "
                "log scale): the parameter-sharing models sit at rounding level, the MLP does not.",
            ),
            Figure("larger_sets.png", "The size-generic model on sets larger than any seen in training."),
        ],
        notes=notes,
    )


STUDY = Study(
    name="sharing",
    summary="Parameter sharing (Ravanbakhsh et al. 2017): invariant set network vs MLP, any set size",
    config=SharingConfig,
    run=run,
    report=report,
    budget_minutes=4.0,
    quick={
        "train_sizes": (32, 128),
        "seeds": 2,
        "steps": 60,
        "test_sets": 200,
        "larger_set_sizes": (20,),
        "width": 8,
    },
)
