"""The ``soft`` study's report: the claims, tables and plots, and notes built from the results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eqlab.runs import Figure, Report
from eqlab.studies._soft._claims import verdicts
from eqlab.studies._soft._config import MODELS, SYMMETRIC, SoftConfig, SoftTask
from eqlab.studies._soft._plots import accuracy_plot, equivariance_plot, evidence_plot
from eqlab.studies._soft._results import SoftResults, SoftUnit, select_units
from eqlab.studies._soft._tables import tables


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
    equivariance_plot(config, units, plots / "equivariance.png")
    evidence_plot(config, units, plots / "marglik.png")
    accuracy_plot(config, units, plots / "accuracy.png")
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
        tables=tables(config, units),
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
