"""The report's plots: Theorem 1's verdict over the worst measured error per cell, and the networks'
equivariance errors and fit, one dot per seed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from eqlab.studies._activations._config import ANGLES, NETWORK_LABELS, ActivationsConfig, Network
from eqlab.studies._activations._reading import ERROR_FLOOR, disagrees, per_seed, verdict_marks, worst_error
from eqlab.studies._activations._representations import ACTIVATIONS, REPRESENTATIONS
from eqlab.studies._activations._results import ActivationsResults, TableSeed
from eqlab.studies._plotting import save_figure


def heatmap(tables: Sequence[TableSeed], path: Path) -> None:
    """Theorem 1's verdict (text) over the worst measured error (colour) per cell, saved to ``path``."""
    reps, acts = list(REPRESENTATIONS), list(ACTIVATIONS)
    worst = np.array([[worst_error(tables, r, a) for a in acts] for r in reps])
    logs = np.log10(np.clip(worst, ERROR_FLOOR, 10.0))
    fig, ax = plt.subplots(figsize=(10.5, 5.6), dpi=110)
    image = ax.imshow(logs, cmap="RdYlGn_r", vmin=-17, vmax=1, aspect="auto")
    bad = {(c.representation, c.activation) for t in tables for c in t.cells if disagrees(c)}
    for i, rep in enumerate(reps):
        for j, act in enumerate(acts):
            ax.text(j, i, verdict_marks(tables, rep, act), ha="center", va="center", fontsize=7)
            if (rep, act) in bad:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2))
    ax.set_xticks(range(len(acts)), acts, rotation=45, ha="right")
    ax.set_yticks(range(len(reps)), reps)
    fig.colorbar(image, ax=ax, label="log10 worst measured error (float64, floored at 1e-17)")
    ax.set_title("Theorem 1's verdict (text) against the measured error (colour), worst over seeds")
    save_figure(fig, path)


def network_plots(config: ActivationsConfig, results: ActivationsResults, plots: Path) -> None:
    """``network_errors.png`` (C_n and SO(2) errors) and ``network_mse.png`` (fit), in ``plots``."""
    n = config.rotation_order
    labels = [NETWORK_LABELS[network] for network in Network]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    for ax, read, title in (
        (axes[0], lambda u: u.cn_error, f"the {n} rotations of C{n}"),
        (axes[1], lambda u: u.so2_error, f"{ANGLES} random angles (SO(2))"),
    ):
        for k, network in enumerate(Network):
            vals = [max(v, ERROR_FLOOR) for v in per_seed(results, network, read)]
            ax.scatter([k] * len(vals), vals, color=f"C{k}")
        ax.set_yscale("log")
        ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
        ax.axhline(1e-12, color="grey", linestyle=":")
        ax.set_title(title)
        ax.set_ylabel("relative equivariance error (float64, floor 1e-17)")
        ax.grid(True, axis="y", alpha=0.3)
    save_figure(fig, plots / "network_errors.png")
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for k, network in enumerate(Network):
        vals = per_seed(results, network, lambda u: u.test_mse / u.target_power)
        ax.scatter([k] * len(vals), vals, color=f"C{k}")
    ax.axhline(1.0, color="grey", linestyle=":", label="predict 0")
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("test MSE / target mean square")
    ax.legend()
    ax.set_title("Fitting an equivariant vector field on the plane")
    save_figure(fig, plots / "network_mse.png")
