"""The ``layerwise`` study's plots: the loss along the interpolation paths, the self-alignment errors per
layer, and one network's first-layer filters sorted by its self-alignment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from eqlab.studies._layerwise._config import Regime, trained_with
from eqlab.studies._layerwise._results import LayerwiseResults, NetworkResult, networks_of, pairs_of
from eqlab.studies._plotting import errorbar_plot, save_figure


def plot_barriers(results: LayerwiseResults, plots: Path) -> None:
    """The test loss along the self and pair paths, one panel per regime: ``barriers.png``."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110, sharey=True)
    for ax, regime in zip(axes, Regime, strict=True):
        curves = {
            "network vs its aligned flipped self": [n.self_barrier for n in networks_of(results, regime)],
            "two networks, aligned": [p.aligned for p in pairs_of(results, regime)],
            "two networks, not aligned": [p.naive for p in pairs_of(results, regime)],
        }
        for label, group in curves.items():
            if not group:
                continue
            losses = np.array([c.loss for c in group])
            ax.plot(group[0].alphas, losses.mean(0), marker="o", label=f"{label} ({len(group)})")
            ax.fill_between(group[0].alphas, losses.min(0), losses.max(0), alpha=0.15)
        ax.set_title(trained_with(regime))
        ax.set_xlabel("alpha (0: first network, 1: second)")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("test loss (batch norm reset at each point)")
    axes[0].legend(fontsize=8)
    save_figure(fig, plots / "barriers.png")


def plot_layer_errors(results: LayerwiseResults, layers: tuple[str, ...], plots: Path) -> None:
    """The self-alignment weight errors per layer, trained (each regime) and at initialisation:
    ``layer_errors.png``."""
    series = {
        f"trained {'with' if regime is Regime.FLIP else 'without'} flip": {
            k: [n.weight_errors[k] for n in networks_of(results, regime)] for k in range(len(layers))
        }
        for regime in Regime
    }
    series["at initialisation"] = {
        k: [n.weight_errors[k] for n in results.initial] for k in range(len(layers))
    }
    fig, ax = errorbar_plot(
        series,
        xlabel="weighted layer (its index in the network; the last is the classifier)",
        ylabel="weight error |W - pi T(W)| / |W| after self-alignment",
    )
    ax.set_xticks(range(len(layers)), layers)
    ax.legend(fontsize=8)
    ax.set_title("Layerwise equivariance error per layer, trained and at initialisation")
    save_figure(fig, plots / "layer_errors.png")


def plot_filters(unit: NetworkResult, plots: Path) -> tuple[int, int]:
    """The first layer's filters: fixed channels on top, each swapped pair side by side below.
    Returns the numbers of fixed channels and of swapped pairs."""
    weight = torch.tensor(unit.first_layer.filters).reshape(unit.first_layer.shape)  # (C_out, C_in, k, k)
    perm = unit.first_layer.permutation
    fixed = [o for o in range(len(perm)) if perm[o] == o]
    swapped = [(o, perm[o]) for o in range(len(perm)) if perm[o] > o]
    columns = max(len(fixed), 2 * len(swapped), 1)
    fig, axes = plt.subplots(2, columns, figsize=(max(columns * 0.55, 5.5), 2.6), dpi=120, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    scale = float(weight.abs().max())

    def show(ax: Any, channel: int) -> None:
        w = weight[channel]
        if w.shape[0] == 3:  # RGB filters, each scaled to [0, 1]
            w = (w - w.min()) / (w.max() - w.min()).clamp_min(1e-12)
            ax.imshow(w.permute(1, 2, 0).numpy())
        else:
            ax.imshow(w.mean(0).numpy(), cmap="RdBu_r", vmin=-scale, vmax=scale)
        ax.set_title(str(channel), fontsize=6)

    for k, o in enumerate(fixed):
        show(axes[0, k], o)
    for k, (o, q) in enumerate(swapped):
        show(axes[1, 2 * k], o)
        show(axes[1, 2 * k + 1], q)
    fig.suptitle(
        f"first-layer filters ({unit.regime} training, seed {unit.seed})\n"
        f"top: {len(fixed)} fixed channels (mirror-symmetric if layerwise equivariant)\n"
        f"bottom: {len(swapped)} swapped pairs (mirror images of each other if layerwise equivariant)",
        fontsize=7,
    )
    save_figure(fig, plots / "first_layer_filters.png")
    return len(fixed), len(swapped)
