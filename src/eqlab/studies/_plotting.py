"""Plot helpers shared by the studies (matplotlib, Agg backend, atomic PNG writes)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
from scipy import stats

from eqlab.runs._atomic import atomic_write_bytes

__all__ = ["errorbar_plot", "mean_interval", "save_figure"]


def mean_interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% Student-t interval (0 for a single value)."""
    arr = np.asarray(values, dtype=float)
    if arr.size < 2:
        return float(arr.mean()), 0.0
    half = stats.t.ppf(0.975, arr.size - 1) * arr.std(ddof=1) / np.sqrt(arr.size)
    return float(arr.mean()), float(half)


def errorbar_plot(
    series: Mapping[str, Mapping[Any, Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
) -> tuple[Any, Any]:
    """One line per series: the mean over seeds at each x, with its 95% interval as error bars."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for label, points in series.items():
        xs = sorted(points)
        stats_ = [mean_interval(points[x]) for x in xs]
        means = np.array([m for m, _ in stats_])
        halves = np.array([h for _, h in stats_])
        lower = np.minimum(halves, means * 0.999) if logy else halves  # keep log-scale bars positive
        ax.errorbar(xs, means, yerr=[lower, halves], marker="o", capsize=3, label=label)
    if logx:
        ax.set_xscale("log")
        ticks = sorted({x for points in series.values() for x in points})
        ax.set_xticks(ticks, [str(t) for t in ticks])  # the measured sizes, not powers of ten
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def save_figure(fig: Any, path: Path) -> None:
    """Save ``fig`` as PNG at ``path`` atomically and close it."""
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
