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

import functools
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from eqlab.bayes import MarglikSettings
from eqlab.runs import Figure, Report, RunFolder, Study, Table, Verdict, judge
from eqlab.runs._cost import CostEstimate, seconds_per_step
from eqlab.runs._verdict import mean_interval
from eqlab.studies._plotting import save_figure
from eqlab.studies._soft._config import (
    MODELS,
    PAPER,
    PRIORS,
    QUICK,
    SYMMETRIC,
    TWO_PATH,
    SoftConfig,
    SoftTask,
    check_config,
    task_shape,
)
from eqlab.studies._soft._data import SoftData
from eqlab.studies._soft._results import (
    BlockMeasure,
    Evidence,
    SoftResults,
    SoftUnit,
    accuracies,
    select_units,
)
from eqlab.studies._soft._units import build_model, train_unit, unit_name

__all__ = [
    "MODELS",
    "PRIORS",
    "STUDY",
    "TWO_PATH",
    "BlockMeasure",
    "Evidence",
    "SoftConfig",
    "SoftData",
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


def run(config: SoftConfig, run_dir: RunFolder) -> SoftResults:
    """Every (seed, task, model, priors) as a resumable work unit."""
    data = SoftData(check_config(config), run_dir)
    units = [
        run_dir.unit(
            unit_name(task, model_name, priors, seed_index),
            functools.partial(train_unit, config, run_dir, data, task, model_name, priors, seed_index),
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


def estimate(config: SoftConfig, device: str) -> CostEstimate:
    """The training time of ``config`` on ``device``: a step of each model at the config's size timed on
    random images (`_step_seconds`), times the optimiser steps and the factor-fitting passes of every
    run."""
    s = check_config(config).train
    per_step: dict[tuple[int, int, str], float] = {}  # by (channels, classes, model)
    for task in config.tasks:
        channels, classes = task_shape(task)
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
        channels, classes = task_shape(task)
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


FLOOR = 1e-17
"""Shift errors are floored here before log10 (an exact 0 has no logarithm)."""
SHIFT_TOLERANCE = 1e-10
"""The float64 shift error below which a network counts as exactly invariant."""


def _log_ratio(unit: SoftUnit) -> float:
    """Mean over two-path blocks of log(dense-path precision / conv-path precision)."""
    ratios = [
        math.log(b.dense_precision / b.conv_precision)
        for b in unit.blocks
        if b.dense_precision is not None and b.conv_precision is not None
    ]
    return float(np.mean(ratios))


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
                    [_log_ratio(u) for u in select_units(units, task, model_name, "marglik")],
                )
            )
        if SoftTask.DIGIT in tasks and SoftTask.QUADRANT in tasks:
            digit = [_log_ratio(u) for u in select_units(units, "digit", model_name, "marglik")]
            quadrant = [_log_ratio(u) for u in select_units(units, "quadrant", model_name, "marglik")]
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
                accuracies(units, task, "conv", "map"), accuracies(units, task, "fc", "map"), strict=True
            )
        ]
        for model_name in TWO_PATH:
            learned = accuracies(units, task, model_name, "marglik")
            out.append(
                judge(
                    f"{task} task: {model_name} with learned priors matches or beats the better hard-coded "
                    "baseline, CONV or FC with fixed priors (test accuracy difference > -0.02)",
                    [a - b for a, b in zip(learned, baseline, strict=True)],
                    threshold=-0.02,
                )
            )
        for model_name in TWO_PATH:
            learned = accuracies(units, task, model_name, "marglik")
            fixed = accuracies(units, task, model_name, "map")
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
    sel = select_units(units, task, model, "marglik")
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


def _accuracy_plot(config: SoftConfig, units: Sequence[SoftUnit], path: Path) -> None:
    tasks = config.tasks
    fig, ax = plt.subplots(figsize=(3.5 + 2 * len(tasks), 4.8), dpi=110)
    width = 0.2
    for k, model_name in enumerate(MODELS):
        for j, priors in enumerate(PRIORS):
            values = [accuracies(units, t, model_name, priors) for t in tasks]
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
                sel = select_units(units, task, model_name, priors)
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
            sel = select_units(units, task, model_name, "marglik")
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
        conv = select_units(units, task, "conv", "map")
        fc = select_units(units, task, "fc", "map")
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
        m: select_units(units, task, m, "map")[0].parameters
        for m in MODELS
        if select_units(units, task, m, "map")
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
    quick=QUICK,
    paper=PAPER,
    estimate=estimate,
)
