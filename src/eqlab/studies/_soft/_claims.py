"""The ``soft`` study's claims, each a four-way verdict decided from the results."""

from __future__ import annotations

import math

import numpy as np

from eqlab.runs import Verdict, judge
from eqlab.studies._reading import maximum
from eqlab.studies._soft._config import SYMMETRIC, TWO_PATH, SoftConfig, SoftTask
from eqlab.studies._soft._results import SoftResults, SoftUnit, accuracies, select_units

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
            [
                math.log10(max(maximum(u.shift_error for u in conv if u.seed_index == s), FLOOR))
                for s in by_seed
            ],
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
            maximum((c, f))
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
