"""Study ``subsampling``: exact against approximate equivariance by one pixel of input size.

Edixhoven, Lengyel & van Gemert, "Using and Abusing Equivariance" (ICCV-W 2023). The same p4 (or p4m)
CNN with three stride-2 3x3 convolutions (padding 1) is trained on digits resized to an input size that
`eqlab.exactness.exact_sizes` certifies exact (n = 1 mod 8, 33 by default) and to one pixel less, where
every strided grid misses its mirror image by one pixel. The digits are MNIST's when ``--data-dir`` holds
its IDX files (the paper's rotated-MNIST setting: train upright, test rotated), else scikit-learn's
bundled 8 x 8 digits. Measured, per seed:

- the float64 equivariance error of every layer by depth (trained networks, `eqlab.exactness.check`);
- accuracy on upright test digits (seen), on digits rotated by 90/180/270 degrees (unseen), per class,
  and against the rotation angle from 0 to 360 degrees;
- the paper's second claim: trained on digits rotated by about 45 degrees (angles ~ N(45, sd)), does
  the approximately equivariant network match or beat the exact one on data rotated the same way?

Each seed draws its own split (or MNIST subsets), its own test rotations and its own training rotations;
the exact and approximate networks of one seed are paired: the same images (resized to either size), the
same initial weights, the same batch order and the same rotation angles.

The ``paper`` preset follows the rotated-MNIST experiment of the paper's code (all of MNIST, 50 epochs of
Adam at lr 0.01 with batch 256, 4 seeds, training rotations ~N(45, 20) degrees, accuracy every 10
degrees, 10 channels per orientation) with this study's network and sizes (33 and 32 px; the paper's
rotated-MNIST network has seven layers and one pooling, where this one has four convolutions).
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from eqlab.runs import Figure, Report, RunFolder, Study, Table, Verdict, judge
from eqlab.runs._cost import CostEstimate, seconds_per_step
from eqlab.studies._plotting import errorbar_plot, save_figure
from eqlab.studies._subsampling._config import PAPER, QUARTERS, QUICK, DataSource, Regime, SubsamplingConfig
from eqlab.studies._subsampling._data import data_source, digits_of_seed
from eqlab.studies._subsampling._models import build_cnn, sizes
from eqlab.studies._subsampling._results import (
    SubsamplingResults,
    SubsamplingUnit,
    mean,
    period_gap,
    pick,
)
from eqlab.studies._subsampling._units import train_unit

__all__ = [
    "STUDY",
    "DataSource",
    "Regime",
    "SubsamplingConfig",
    "SubsamplingResults",
    "SubsamplingUnit",
    "build_cnn",
    "data_source",
    "digits_of_seed",
    "report",
    "run",
    "sizes",
    "verdicts",
]

FLOOR = 1e-17
"""Errors are floored here before log10 and on log plots (an exact 0 has no logarithm)."""
CAP = 1e3
"""Errors are capped here on log plots (a zero reference output makes a relative error huge)."""


def run(config: SubsamplingConfig, run_dir: RunFolder) -> SubsamplingResults:
    """Train at the exact and the one-pixel-smaller size, upright and rotated, for every seed."""
    exact, approx = sizes(config)
    units = tuple(
        run_dir.unit(
            f"{regime}-n{size}-s{seed_index}",
            partial(train_unit, config, run_dir, size, regime, seed_index),
            SubsamplingUnit,
        )
        for seed_index in range(config.seeds)
        for regime in Regime
        for size in (exact, approx)
    )
    first = digits_of_seed(config, run_dir, 0)  # every seed draws as many
    train_examples, test_examples = len(first.y_train), len(first.y_test)
    return SubsamplingResults(exact, approx, data_source(run_dir), train_examples, test_examples, units)


def _random_batch(batch: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random images ``(batch, 1, size, size)`` in [0, 1) and labels ``(batch,)``, the shape of a
    training batch."""
    return torch.rand(batch, 1, size, size), torch.randint(0, 10, (batch,))


def estimate(config: SubsamplingConfig, device: str) -> CostEstimate:
    """The training time of ``config`` on MNIST: a step of the network at each of the two sizes timed on a
    random batch, times the steps of every (size, regime, seed) job (the evaluation is not counted)."""
    exact, approx = sizes(config)
    batch = config.train.batch_size
    per_step = sum(
        seconds_per_step(
            build_cnn(config.group, config.widths),
            partial(_random_batch, batch, size),
            nn.functional.cross_entropy,
            device,
            steps=2,
        )
        for size in (exact, approx)
    )
    steps_per_job = config.train.epochs * math.ceil(config.mnist_train / batch)
    jobs_per_size = len(Regime) * config.seeds
    return CostEstimate(
        seconds=per_step * steps_per_job * jobs_per_size,
        steps=2 * steps_per_job * jobs_per_size,
        seconds_per_step=per_step / 2,
        timed_steps=2,
        device=device,
        what=f"the {config.group} CNN with widths {list(config.widths)} on a batch of {batch} images at "
        f"{exact} and at {approx} px ({config.mnist_train:,} MNIST training images per job)",
    )


# -- verdicts and report ------------------------------------------------------------------------------


def _log_final(units: list[SubsamplingUnit]) -> list[float]:
    return [math.log10(max(u.depth_errors[-1], FLOOR)) for u in units]


def verdicts(config: SubsamplingConfig, results: SubsamplingResults) -> list[Verdict]:
    """The study's claims, decided from the results: the exact network's equivariance and periodicity
    (demonstrations: the certified size makes them true by construction), the approximate network's
    error and the two generalisation claims (findings)."""
    exact, approx = results.exact_size, results.approximate_size
    up_exact, up_approx = pick(results, exact, Regime.UPRIGHT), pick(results, approx, Regime.UPRIGHT)
    rot_exact, rot_approx = pick(results, exact, Regime.ROTATED), pick(results, approx, Regime.ROTATED)
    return [
        judge(
            f"at the certified size {exact} the trained network is equivariant to float64 precision "
            "(log10 relative error of the last layer, floored at 1e-17, < -12)",
            _log_final(up_exact),
            threshold=-12,
            direction="less",
            kind="demonstration",
            exact="at a certified size every layer computes the same sums in another order on a rotated "
            "input, so the error is rounding or exactly 0, which the floor maps to one value",
        ),
        judge(
            f"at {approx} pixels (one less) the trained network is only approximately equivariant "
            "(log10 relative error of the last layer > -6)",
            _log_final(up_approx),
            threshold=-6,
        ),
        judge(
            "trained upright, the exact network generalises better to unseen 90/180/270-degree rotations "
            "(unseen accuracy, exact minus approximate, > 0)",
            [e.unseen - a.unseen for e, a in zip(up_exact, up_approx, strict=True)],
        ),
        judge(
            "trained upright, the exact network's accuracy repeats every 90 degrees (largest accuracy gap "
            "between angles 90 degrees apart, in test images, < 0.5)",
            [period_gap(u, results.test_examples) for u in up_exact],
            threshold=0.5,
            direction="less",
            kind="demonstration",
            exact="the test images at a and a + 90 degrees are exact rot90 turns of each other, so an "
            "exactly invariant network gives them the same logits up to float32 rounding: the same "
            "predictions unless two logits tie to rounding, a gap of 0 images",
        ),
        judge(
            f"trained on digits rotated by ~N({config.rotated_mean:g}, {config.rotated_sd:g}) degrees, the "
            "approximate network matches (within 1 point) or beats the exact one on test digits rotated "
            "the same way (accuracy, approximate minus exact, > -0.01)",
            [
                a.rotated_like_training - e.rotated_like_training
                for e, a in zip(rot_exact, rot_approx, strict=True)
            ],
            threshold=-0.01,
        ),
    ]


def _depth_plot(results: SubsamplingResults, config: SubsamplingConfig, plots: Path) -> str:
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
    worst = [max(u.depth_errors[d - 1] for u in up_approx) for d in depth]
    first = next((d for d in depth if worst[d - 1] > 1e-6), None)
    where = (
        f"at {approx} px it first exceeds 1e-6 (worst seed) after layer {labels[first - 1]}"
        if first is not None
        else f"at {approx} px it stays below 1e-6 at every depth (worst seed)"
    )
    return (
        f"Largest error after the last layer over seeds: {exact} px "
        f"{max(u.depth_errors[-1] for u in up_exact):.1e}, {approx} px {worst[-1]:.1e}; {where}."
    )


def _angle_plot(
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
    gaps = {label: max(period_gap(u, results.test_examples) for u in us) for label, _, us in pairs}
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


def _data_note(config: SubsamplingConfig, results: SubsamplingResults) -> str:
    scale = (
        f"{results.train_examples} training and {results.test_examples} test images per seed, resized "
        f"bilinearly to {results.exact_size} and {results.approximate_size} px"
    )
    if results.data is DataSource.MNIST:
        return (
            f"Data: MNIST from the IDX files in --data-dir (the paper's rotated-MNIST setting), {scale}; "
            "each seed draws its own training and test images from MNIST's two files."
        )
    return (
        f"Data: scikit-learn's bundled 8 x 8 digits, {scale}; each seed draws its own split. No MNIST IDX "
        "files were found in --data-dir (or none was given); with a folder holding MNIST's four IDX files, "
        "the study trains on MNIST, the paper's rotated-MNIST setting."
    )


def report(config: SubsamplingConfig, results: SubsamplingResults, plots: Path) -> Report:
    """Verdicts, tables and plots from saved results."""
    exact, approx = results.exact_size, results.approximate_size
    groups = [
        (label, size, regime, pick(results, size, regime))
        for regime in Regime
        for label, size in (("exact", exact), ("approximate", approx))
    ]
    accuracy = Table(
        "Test accuracy (mean over seeds) and the worst last-layer equivariance error",
        [
            "network",
            "training",
            "seen (upright)",
            "unseen (90/180/270)",
            "rotated like training",
            "max error, last layer",
        ],
        [
            [
                f"{label} ({size} px)",
                str(regime),
                mean(us, "seen"),
                mean(us, "unseen"),
                mean(us, "rotated_like_training"),
                max(u.depth_errors[-1] for u in us),
            ]
            for label, size, regime, us in groups
        ],
    )
    up_exact, up_approx = pick(results, exact, Regime.UPRIGHT), pick(results, approx, Regime.UPRIGHT)
    per_digit = [
        (
            c,
            float(np.nanmean([u.unseen_per_class[c] for u in up_exact])),
            float(np.nanmean([u.unseen_per_class[c] for u in up_approx])),
        )
        for c in range(10)
        if any(not math.isnan(u.unseen_per_class[c]) for u in up_exact)
    ]
    widest = max(per_digit, key=lambda row: abs(row[1] - row[2]))
    per_class = Table(
        "Unseen accuracy per digit, trained upright (mean over seeds). Look at 6 and 9, which a half turn "
        f"maps near each other; the largest difference, exact minus approximate, is at digit {widest[0]} "
        f"({widest[1] - widest[2]:+.3f})",
        ["digit", f"exact ({exact} px)", f"approximate ({approx} px)"],
        [list(row) for row in per_digit],
    )
    depth_sentence = _depth_plot(results, config, plots)
    upright_file, upright_sentence = _angle_plot(results, config, Regime.UPRIGHT, plots)
    rotated_file, rotated_sentence = _angle_plot(results, config, Regime.ROTATED, plots)
    certified = {size: sum(u.exact for u in results.units if u.size == size) for size in (exact, approx)}
    count = len(results.units) // 2
    train = config.train
    notes = [
        _data_note(config, results),
        f"{config.seeds} seeds. The exact and approximate networks of one seed and regime are paired: the "
        "same images (resized to either size), the same initial weights, the same batch order and the same "
        "training rotations; each seed draws its own test rotations, shared by the pair.",
        f"A {config.group} CNN with widths {list(config.widths)}: a lifting 3x3 convolution, then three "
        f"stride-2 3x3 group convolutions with padding 1; {train.epochs} epochs of {train.optimizer} "
        f"(batch {train.batch_size}, lr {train.lr:g}, {train.schedule} schedule).",
        f"The exactness analyser certified {certified[exact]} of {count} trained networks at {exact} px "
        f"exact, and {certified[approx]} of {count} at {approx} px. Errors are measured in float64 on the "
        "trained networks (eval mode); rotations by multiples of 90 degrees are exact (rot90), others "
        "bilinear; accuracies are computed in float32.",
    ]
    return Report(
        study="subsampling",
        title="Subsampling: exact against approximate rotation equivariance",
        paper="Edixhoven, Lengyel & van Gemert, Using and Abusing Equivariance (ICCV Workshops 2023)",
        claim=(
            "A group CNN is exactly equivariant only if every strided layer samples a grid that the "
            "rotations map onto itself; one pixel of input size can make it only approximately "
            "equivariant. Approximately equivariant networks generalise worse to unseen rotations, but "
            "when the training data's symmetry differs from the network's they can relax their "
            "constraint and match or beat exact ones."
        ),
        measured=(
            f"The same {config.group} CNN trained {config.seeds} times at {exact} px (certified exact) and "
            f"{approx} px, on upright digits and on digits rotated by about {config.rotated_mean:g} "
            "degrees: float64 error by depth, seen and unseen accuracy, accuracy per digit and against the "
            "rotation angle. Each seed draws its own data and rotations; the two networks of a seed are "
            "paired on them and start from the same weights."
        ),
        verdicts=verdicts(config, results),
        tables=[accuracy, per_class],
        figures=[
            Figure(
                "depth_errors.png",
                "Cumulative equivariance error after each spatial layer, trained upright (mean with 95% "
                "interval over seeds; floored at 1e-17 and capped at 1e3; the dotted line is 1e-6). "
                f"{depth_sentence}",
            ),
            Figure(
                upright_file,
                "Trained upright: accuracy against the rotation of the test digits (mean with 95% interval "
                "over seeds; dotted lines at the quarter turns). An exactly invariant network's curve "
                f"repeats every 90 degrees. {upright_sentence}",
            ),
            Figure(
                rotated_file,
                f"Trained on digits rotated by ~N({config.rotated_mean:g}, {config.rotated_sd:g}) degrees: "
                f"the same curves. {rotated_sentence}",
            ),
        ],
        notes=notes,
        key_figure=upright_file,
    )


STUDY = Study(
    name="subsampling",
    summary="Subsampling (Edixhoven et al. 2023): exact vs approximate equivariance by one pixel",
    config=SubsamplingConfig,
    results=SubsamplingResults,
    run=run,
    report=report,
    budget_minutes=3.5,
    quick=QUICK,
    paper=PAPER,
    estimate=estimate,
)
