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

from eqlab.runs._atomic import atomic_write_bytes
from eqlab.runs._verdict import mean_interval

__all__ = ["errorbar_plot", "save_figure"]


def _mean_half(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% interval (`eqlab.runs._verdict.mean_interval`; 0 for one value)."""
    mean, low, high = mean_interval(values)
    return mean, 0.0 if np.isnan(low) else (high - low) / 2


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
        stats_ = [_mean_half(points[x]) for x in xs]
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
