"""The ``soft`` study's plots: the learned amount of equivariance per block, the evidence during training
and the test accuracies."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from eqlab.runs._verdict import mean_interval
from eqlab.studies._plotting import save_figure
from eqlab.studies._soft._config import JOBS, MODELS, TWO_PATH, SoftConfig
from eqlab.studies._soft._results import SoftUnit, accuracies, log_ratio, select_units


def _half(values: Sequence[float]) -> float:
    """The half-width of the 95% interval of the mean (0 for one value)."""
    _, low, high = mean_interval(values)
    return 0.0 if math.isnan(low) else (high - low) / 2


def _block_series(units: Sequence[SoftUnit], task: str, model: str, what: str) -> list[list[float]]:
    """Per two-path block: the per-seed values of ``what`` (``"share"`` or ``"log ratio"``) with learned
    priors."""
    sel = select_units(units, task, model, "marglik")
    out = []
    for k, block in enumerate(sel[0].blocks if sel else ()):
        if block.conv_share is None:
            continue
        if what == "share":
            out.append([float(u.blocks[k].conv_share) for u in sel])  # type: ignore[arg-type]
        else:
            out.append([log_ratio(u.blocks[k]) for u in sel])
    return out


def equivariance_plot(config: SoftConfig, units: Sequence[SoftUnit], path: Path) -> None:
    """Per task and two-path model with learned priors: the log precision ratio and the conv-path share
    of each block, means over seeds with 95% intervals, saved to ``path``."""
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


def evidence_plot(config: SoftConfig, units: Sequence[SoftUnit], path: Path) -> None:
    """Per task: the log marginal likelihood per data point against the epoch, for every model and both
    priors (means over seeds), saved to ``path``."""
    tasks = config.tasks
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), dpi=110, squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for k, model_name in enumerate(MODELS):
            for priors, style in (("marglik", "-"), ("map", ":")):
                sel = select_units(units, task, model_name, priors)
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


def accuracy_plot(config: SoftConfig, units: Sequence[SoftUnit], path: Path) -> None:
    """Test accuracy bars per task, model and priors (means over seeds, 95% intervals), saved to ``path``."""
    tasks = config.tasks
    fig, ax = plt.subplots(figsize=(3.5 + 2 * len(tasks), 4.8), dpi=110)
    width = 0.8 / len(JOBS)
    for j, (model_name, priors) in enumerate(JOBS):
        k = MODELS.index(model_name)
        values = [accuracies(units, t, model_name, priors) for t in tasks]
        if all(values):
            ax.bar(
                np.arange(len(tasks)) + (j - (len(JOBS) - 1) / 2) * width,
                [float(np.mean(v)) for v in values],
                width,
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
