"""The ``subsampling`` study's plots: the equivariance error by depth and the accuracy against the rotation
angle; each returns the sentence its caption gives on what it measured."""

from __future__ import annotations

import math
from pathlib import Path

from eqlab.studies._plotting import errorbar_plot, save_figure
from eqlab.studies._reading import maximum
from eqlab.studies._subsampling._claims import FLOOR
from eqlab.studies._subsampling._config import QUARTERS, Regime, SubsamplingConfig
from eqlab.studies._subsampling._models import build_cnn
from eqlab.studies._subsampling._results import SubsamplingResults, mean, period_gap, pick

CAP = 1e3
"""Errors are capped here on log plots (a zero reference output makes a relative error huge)."""


def depth_plot(results: SubsamplingResults, config: SubsamplingConfig, plots: Path) -> str:
    """The error-by-depth plot; returns the caption's sentence on what it measured."""
    exact, approx = results.exact_size, results.approximate_size
    up_exact, up_approx = pick(results, exact, Regime.UPRIGHT), pick(results, approx, Regime.UPRIGHT)
    depth = list(range(1, len(up_exact[0].depth_errors) + 1))
    fig, ax = errorbar_plot(
        {
            f"{label} ({size} px)": {
                d: [min(max(u.depth_errors[d - 1], FLOOR), CAP) for u in us] for d in depth
            }
            for label, size, us in (("exact", exact, up_exact), ("approximate", approx, up_approx))
        },
        xlabel="spatial layer (depth)",
        ylabel="relative equivariance error (float64)",
        logy=True,
    )
    modules = dict(build_cnn(config.group, config.widths).named_modules())
    names = up_exact[0].depth_names
    labels = [
        f"{d}: {type(modules[n]).__name__ if n in modules else n}" for d, n in zip(depth, names, strict=True)
    ]
    ax.set_xticks(depth, labels, rotation=15, fontsize=8)
    ax.axhline(1e-6, color="grey", linestyle=":", label="1e-6")
    ax.set_title("Cumulative equivariance error by depth, trained upright")
    ax.legend()
    save_figure(fig, plots / "depth_errors.png")
    worst = [maximum(u.depth_errors[d - 1] for u in up_approx) for d in depth]
    first = next((d for d in depth if worst[d - 1] > 1e-6), None)
    where = (
        f"at {approx} px it first exceeds 1e-6 (worst seed) after layer {labels[first - 1]}"
        if first is not None
        else f"at {approx} px it stays below 1e-6 at every depth (worst seed)"
    )
    return (
        f"Largest error after the last layer over seeds: {exact} px "
        f"{maximum(u.depth_errors[-1] for u in up_exact):.1e}, {approx} px {worst[-1]:.1e}; {where}."
    )


def angle_plot(
    results: SubsamplingResults, config: SubsamplingConfig, regime: Regime, plots: Path
) -> tuple[str, str]:
    """One accuracy-against-angle plot; returns its file name and the caption's sentence on what it
    measured."""
    exact, approx = results.exact_size, results.approximate_size
    pairs = (
        ("exact", exact, pick(results, exact, regime)),
        ("approximate", approx, pick(results, approx, regime)),
    )
    angles = pairs[0][2][0].angles
    series = {
        f"{label} ({size} px)": {a: [u.accuracy_by_angle[i] for u in us] for i, a in enumerate(angles)}
        for label, size, us in pairs
    }
    fig, ax = errorbar_plot(series, xlabel="rotation of the test digits (degrees)", ylabel="test accuracy")
    ax.set_xticks(range(0, 361, 45))
    ax.set_ylim(0, 1.02)
    for quarter in QUARTERS:
        ax.axvline(quarter, color="grey", linestyle=":", linewidth=0.8)
    trained = (
        "upright digits" if regime is Regime.UPRIGHT else f"digits rotated ~{config.rotated_mean:g} degrees"
    )
    ax.set_title(f"Accuracy against rotation angle, trained on {trained}")
    ax.legend()
    filename = f"accuracy_vs_angle_{regime}.png"
    save_figure(fig, plots / filename)
    gaps = {label: maximum(period_gap(u, results.test_examples) for u in us) for label, _, us in pairs}
    gap_text = ", ".join(
        f"{label} {'not measured (no angles 90 degrees apart)' if math.isnan(g) else f'{g:g} test images'}"
        for label, g in gaps.items()
    )
    if regime is Regime.UPRIGHT:
        accuracy_text = "; mean accuracy upright / unseen (90/180/270): " + ", ".join(
            f"{label} {mean(us, 'seen'):.3f} / {mean(us, 'unseen'):.3f}" for label, _, us in pairs
        )
    else:
        accuracy_text = "; mean accuracy on test digits rotated like the training digits: " + ", ".join(
            f"{label} {mean(us, 'rotated_like_training'):.3f}" for label, _, us in pairs
        )
    return (
        filename,
        f"Largest accuracy gap between angles 90 degrees apart (worst seed): {gap_text}{accuracy_text}.",
    )
