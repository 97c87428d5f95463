"""The ``soft`` study's Section 6.1 claims, each a four-way verdict decided from the results: the premise
first (CONV against FC under MAP), then the paper's claim read in prior precisions and in the conv path's
share of each block's output, then learned against fixed priors."""

from __future__ import annotations

import math

import numpy as np

from eqlab.runs import Verdict, judge
from eqlab.studies._reading import maximum
from eqlab.studies._soft._config import SHARE, SYMMETRIC, TWO_PATH, SoftConfig, SoftTask
from eqlab.studies._soft._multi_claims import multi_verdicts
from eqlab.studies._soft._results import (
    SoftResults,
    SoftUnit,
    accuracies,
    final_evidence,
    log_ratio,
    select_units,
)

FLOOR = 1e-17
"""Shift errors are floored here before log10 (an exact 0 has no logarithm)."""
SHIFT_TOLERANCE = 1e-10
"""The float64 shift error below which a network counts as exactly invariant."""
DIGIT_MARGIN = -0.02
"""The premise on the digit task: CONV - FC test accuracy (MAP) above this, CONV at least as accurate as FC
up to two points (the margin of the baseline claims)."""
PREMISE = "premise"
"""The start of the premise claims' text."""


def mean_log_ratio(unit: SoftUnit) -> float:
    """Mean over two-path blocks of log(dense-path precision / conv-path precision)."""
    return float(np.mean([log_ratio(b) for b in unit.blocks if b.conv_share is not None]))


def mean_share(unit: SoftUnit) -> float:
    """Mean over two-path blocks of the conv path's share of the block output."""
    return float(np.mean([b.conv_share for b in unit.blocks if b.conv_share is not None]))


def premise_verdicts(config: SoftConfig, results: SoftResults) -> list[Verdict]:
    """CONV against FC with fixed priors, paired per seed: CONV at least as accurate where translation
    symmetry holds, FC ahead where it must be broken (the quadrant task)."""
    units, out = results.units, []
    for task in config.tasks:
        conv = accuracies(units, task, "conv", "map")
        fc = accuracies(units, task, "fc", "map")
        if task in SYMMETRIC:
            out.append(
                judge(
                    f"{PREMISE}, {task} task (translation symmetry holds): CONV is at least as accurate as "
                    f"FC under MAP (paired test accuracy CONV - FC > {DIGIT_MARGIN:g})",
                    [c - f for c, f in zip(conv, fc, strict=True)],
                    threshold=DIGIT_MARGIN,
                )
            )
        else:
            out.append(
                judge(
                    f"{PREMISE}, {task} task (the symmetry must be broken): FC is more accurate than CONV "
                    "under MAP (paired test accuracy FC - CONV > 0)",
                    [f - c for c, f in zip(conv, fc, strict=True)],
                )
            )
    return out


def _shift(units: list[SoftUnit]) -> Verdict:
    conv = [u for u in units if u.model == "conv"]
    by_seed = sorted({u.seed_index for u in conv})
    return judge(
        "CONV gives the same logits when every digit moves to another quadrant, a circular shift by half "
        "the canvas (largest float64 relative change over its runs of a seed, log10 floored at 1e-17, "
        f"< {math.log10(SHIFT_TOLERANCE):g})",
        [math.log10(max(maximum(u.shift_error for u in conv if u.seed_index == s), FLOOR)) for s in by_seed],
        threshold=math.log10(SHIFT_TOLERANCE),
        direction="less",
        kind="demonstration",
        exact="circular convolutions and adaptive polyphase subsampling down to 1 x 1 make the network "
        "invariant to circular shifts whatever its weights, so its error is rounding or exactly 0, which "
        "the floor maps to one value",
    )


def _paths(config: SoftConfig, units: list[SoftUnit], model: str) -> list[Verdict]:
    """The paper's claim for one two-path model, read in precisions and in the conv path's share."""
    out = []
    both = SoftTask.DIGIT in config.tasks and SoftTask.QUADRANT in config.tasks
    for task in (t for t in config.tasks if t in SYMMETRIC):
        learned = select_units(units, task, model, "marglik")
        out.append(
            judge(
                f"{model}, {task} task (translation symmetry holds), as the paper reads it: the marginal "
                "likelihood switches the dense paths off (mean over blocks of log(dense-path / conv-path "
                "prior precision) > 0)",
                [mean_log_ratio(u) for u in learned],
            )
        )
        for k, block in enumerate(learned[0].blocks if learned else ()):
            if block.conv_share is None:
                continue
            out.append(
                judge(
                    f"{model}, {task} task, block {block.block}, by use: with learned priors the conv path "
                    f"carries most of the block's output (conv share > {SHARE:g})",
                    [float(u.blocks[k].conv_share) for u in learned],  # type: ignore[arg-type]
                    threshold=SHARE,
                )
            )
    if both:
        digit = select_units(units, "digit", model, "marglik")
        quadrant = select_units(units, "quadrant", model, "marglik")
        out.append(
            judge(
                f"{model}, as the paper reads it: the dense paths are switched off less where the symmetry "
                "must be broken (that mean log ratio on the digit task minus on the quadrant task, same "
                "canvases, > 0)",
                [mean_log_ratio(d) - mean_log_ratio(q) for d, q in zip(digit, quadrant, strict=True)],
            )
        )
        out.append(
            judge(
                f"{model}, by use: the conv paths carry less of the output where the symmetry must be broken "
                "(mean over blocks of the conv share on the digit task minus on the quadrant task, > 0)",
                [mean_share(d) - mean_share(q) for d, q in zip(digit, quadrant, strict=True)],
            )
        )
    return out


def _priors(config: SoftConfig, units: list[SoftUnit]) -> list[Verdict]:
    """Learned priors against the hard-coded baselines and against fixed priors on the same network."""
    out = []
    for task in config.tasks:
        baseline = [
            maximum((c, f))
            for c, f in zip(
                accuracies(units, task, "conv", "map"), accuracies(units, task, "fc", "map"), strict=True
            )
        ]
        for model in TWO_PATH:
            learned = accuracies(units, task, model, "marglik")
            out.append(
                judge(
                    f"{task} task: {model} with learned priors matches or beats the better hard-coded "
                    "baseline, CONV or FC with fixed priors (test accuracy difference > -0.02)",
                    [a - b for a, b in zip(learned, baseline, strict=True)],
                    threshold=-0.02,
                )
            )
        for model in TWO_PATH:
            learned_units = select_units(units, task, model, "marglik")
            fixed_units = select_units(units, task, model, "map")
            out.append(
                judge(
                    f"{task} task: {model} is more accurate with learned than with fixed priors "
                    "(paired test accuracy difference > 0)",
                    [
                        a.test_accuracy - b.test_accuracy
                        for a, b in zip(learned_units, fixed_units, strict=True)
                    ],
                )
            )
            out.append(
                judge(
                    f"{task} task: {model} has a higher log marginal likelihood with learned than with fixed "
                    "priors (paired difference of the last evidence per data point > 0)",
                    [
                        final_evidence(a) - final_evidence(b)
                        for a, b in zip(learned_units, fixed_units, strict=True)
                    ],
                )
            )
    return out


def verdicts(config: SoftConfig, results: SoftResults) -> list[Verdict]:
    """The claims, decided from the results: the premise, the shift demonstration, the paper's claim per
    two-path model, learned against fixed priors (Section 6.1), then the multiple-symmetry claims
    (Section 6.3, `multi_verdicts`)."""
    units = list(results.units)
    out = premise_verdicts(config, results)
    out.append(_shift(units))
    for model in TWO_PATH:
        out += _paths(config, units, model)
    return out + _priors(config, units) + multi_verdicts(results.multi)
