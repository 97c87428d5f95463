"""The ``subsampling`` study's claims, each a four-way verdict decided from the results: three
demonstrations (the exact network's equivariance and periodicity, and the approximate network's error,
which the size analyser predicts) and two findings (generalisation)."""

from __future__ import annotations

import math

from eqlab.runs import Verdict, judge
from eqlab.studies._subsampling._config import Regime, SubsamplingConfig
from eqlab.studies._subsampling._results import SubsamplingResults, SubsamplingUnit, period_gap, pick

FLOOR = 1e-17
"""Errors are floored here before log10 and on log plots (an exact 0 has no logarithm)."""


def _log_final(units: list[SubsamplingUnit]) -> list[float]:
    return [math.log10(max(u.depth_errors[-1], FLOOR)) for u in units]


def verdicts(config: SubsamplingConfig, results: SubsamplingResults) -> list[Verdict]:
    """The study's claims, decided from the results: the exact network's equivariance and periodicity
    (demonstrations: the certified size makes them true by construction), the approximate network's
    error (a demonstration: its size is chosen because the analyser certifies it inexact) and the two
    generalisation claims (findings)."""
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
        # A demonstration: `sizes` picks this size BECAUSE `eqlab.exactness` certifies its strided grids
        # misaligned, and a misaligned grid gives an O(1) error for generic weights. The measurement
        # confirms the analyser's prediction on trained weights; it could fail only if training drove the
        # weights to a degenerate (e.g. rotation-symmetric) point or the analyser were wrong.
        judge(
            f"at {approx} pixels (one less) the trained network is only approximately equivariant, "
            "confirming the size analyser's prediction for this size (log10 relative error of the last "
            "layer > -6)",
            _log_final(up_approx),
            threshold=-6,
            kind="demonstration",
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
