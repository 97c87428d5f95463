"""The ``soft`` study's report: the claims, tables and plots, and notes built from the results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eqlab.runs import Figure, Report, Status
from eqlab.studies._soft._claims import PREMISE, premise_verdicts, verdicts
from eqlab.studies._soft._config import JOBS, MODELS, SoftConfig, SoftTask
from eqlab.studies._soft._multi_config import MULTI_MODEL
from eqlab.studies._soft._multi_report import multi_notes, multi_plot, multi_table
from eqlab.studies._soft._plots import accuracy_plot, equivariance_plot, evidence_plot
from eqlab.studies._soft._results import SoftResults, SoftUnit, select_units
from eqlab.studies._soft._tables import favours, readings, tables

USE_NOTE = (
    "How much a block uses a path is read as the conv path's share of the block's output, |conv(h)| / "
    "(|conv(h)| + |dense(h)|) on 256 test inputs, beside the paper's reading in prior precisions. A "
    "per-weight precision alone does not say whether a path is used: the paths differ in fan-in and in "
    "size by orders of magnitude, and the weights the data settle on need not sit where the prior is "
    "tight. The share is measured on the trained network, in the output's own units, so it compares paths "
    "of any fan-in and size; prior variance times fan-in would say how much a path may contribute at the "
    "prior, not how much it does."
)


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


def _premise_note(config: SoftConfig, results: SoftResults) -> str:
    """What the premise verdicts say for the claims that follow them, built from those verdicts."""
    found = premise_verdicts(config, results)
    failing = [v for v in found if v.status is not Status.SUPPORTED]
    parts = [
        f"{v.claim.split(':')[0].removeprefix(PREMISE + ', ')}: {v.status.value} "
        f"(mean {v.mean:+.3f}, 95% interval [{v.low:+.3f}, {v.high:+.3f}])"
        for v in found
    ]
    if not failing:
        return (
            "The premise of the paper's toy problem holds on this run (" + "; ".join(parts) + "), so the "
            "claims below put the paper's mechanism to a test."
        )
    return (
        "The premise of the paper's toy problem is not supported on this run (" + "; ".join(parts) + "): "
        "the claims below are not tests of the paper's mechanism, since the hard-coded networks do not "
        "order as in the paper's setting before the marginal likelihood is asked anything."
    )


def _premise_numbers(config: SoftConfig, units: Sequence[SoftUnit]) -> list[str]:
    """CONV and FC with fixed priors per task: mean accuracies and parameter counts."""
    notes = []
    for task in config.tasks:
        conv = select_units(units, task, "conv", "map")
        fc = select_units(units, task, "fc", "map")
        if not conv or not fc:
            continue
        a_conv = float(np.mean([u.test_accuracy for u in conv]))
        a_fc = float(np.mean([u.test_accuracy for u in fc]))
        notes.append(
            f"{task} task, fixed priors: CONV ({conv[0].parameters:,} parameters) reached a mean test "
            f"accuracy of {a_conv:.3f} and FC ({fc[0].parameters:,} parameters) {a_fc:.3f} over "
            f"{len(conv)} seed(s)."
        )
    return notes


def _disagreement_note(config: SoftConfig, units: Sequence[SoftUnit]) -> str | None:
    """Where the paper's reading (precisions) and the use (conv share) favour different paths."""
    cells = readings(config, units)
    if not cells:
        return None
    differ = [
        f"{task} {model} block {block} (precisions favour {a}, use favours {b})"
        for task, model, block, ratio, share in cells
        for a, b in [favours(ratio, share)]
        if a != b
    ]
    if not differ:
        return (
            f"The two readings favour the same path in all {len(cells)} (task, model, block) cells with "
            "learned priors (means over seeds)."
        )
    return (
        f"The two readings favour different paths in {len(differ)} of {len(cells)} (task, model, block) "
        "cells with learned priors (means over seeds): " + "; ".join(differ) + "."
    )


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


def _multi_sentence(config: SoftConfig, results: SoftResults) -> str:
    if not results.multi:
        return ""
    m = config.multi.train
    return (
        f" Section 6.3: {len(results.multi)} {MULTI_MODEL} networks (alpha = {config.multi.alpha}) on "
        f"upright and rotated digit canvases, {m.epochs} epochs (Adam, lr {m.lr:g}, batch {m.batch_size}), "
        f"learned priors (the evidence every {m.frequency} epoch(s) after {m.burn_in}, {m.ggn} GGN)."
    )


def report(config: SoftConfig, results: SoftResults, plots: Path) -> Report:
    """Verdicts, tables and plots from saved results."""
    units = results.units
    equivariance_plot(config, units, plots / "equivariance.png")
    evidence_plot(config, units, plots / "marglik.png")
    accuracy_plot(config, units, plots / "accuracy.png")
    figures = []
    if results.multi:
        multi_plot(results.multi, plots / "symmetries.png")
        figures.append(
            Figure(
                "symmetries.png",
                "Section 6.3: each path's share of every block's output with learned priors, on upright "
                "and on rotated digits; means over seeds with 95% intervals.",
            )
        )
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
        _premise_note(config, results),
        *_premise_numbers(config, units),
        USE_NOTE,
    ]
    disagreement = _disagreement_note(config, units)
    if disagreement:
        notes.append(disagreement)
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
            "baselines (Section 6.1, whose premise is that a convolutional network beats a dense one where "
            "translation symmetry holds and loses where it must be broken). With several paths per block "
            "(a p4 group convolution, a convolution and a factored dense map), it keeps the paths of the "
            "symmetries the data have, layer by layer: the rotation path where digits are rotated "
            "(Section 6.3)."
        ),
        measured=(
            f"{config.seeds} seed(s) x {len(config.tasks)} task(s) x {len(JOBS)} networks (CONV and FC with "
            "fixed priors; FC+CONV and FFC+CONV with fixed and with learned priors) on "
            f"{config.size} x {config.size} inputs ({_data_sentence(config, units)}); "
            f"alpha = {config.alpha}, {len(config.widths)} blocks; {s.epochs} epochs (Adam, lr {s.lr:g}, "
            f"batch {s.batch_size}), the evidence every {s.frequency} epoch(s) after {s.burn_in} "
            f"({s.hyper_steps} Adam steps on the log precisions each, {s.ggn} GGN)."
            + _multi_sentence(config, results)
        ),
        verdicts=verdicts(config, results),
        tables=tables(config, units) + ([multi_table(results.multi)] if results.multi else []),
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
            *figures,
        ],
        notes=notes + multi_notes(results.multi),
        key_figure="equivariance.png",
    )
