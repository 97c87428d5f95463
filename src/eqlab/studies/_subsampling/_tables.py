"""The ``subsampling`` study's tables: accuracy and worst error per network and regime, and the unseen
accuracy per digit."""

from __future__ import annotations

import math

import numpy as np

from eqlab.runs import Table
from eqlab.studies._reading import maximum, worst
from eqlab.studies._subsampling._config import Regime
from eqlab.studies._subsampling._results import SubsamplingResults, mean, pick


def accuracy_table(results: SubsamplingResults) -> Table:
    """Seen, unseen and rotated-like-training accuracy (mean over seeds) and the worst last-layer error of
    each size and regime."""
    exact, approx = results.exact_size, results.approximate_size
    groups = [
        (label, size, regime, pick(results, size, regime))
        for regime in Regime
        for label, size in (("exact", exact), ("approximate", approx))
    ]
    return Table(
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
                maximum(u.depth_errors[-1] for u in us),
            ]
            for label, size, regime, us in groups
        ],
    )


def per_class_table(results: SubsamplingResults) -> Table:
    """Unseen accuracy per digit present in the test set, trained upright, at both sizes; the title names
    the digit where they differ most."""
    exact, approx = results.exact_size, results.approximate_size
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
    widest = worst(per_digit, key=lambda row: abs(row[1] - row[2]))
    return Table(
        "Unseen accuracy per digit, trained upright (mean over seeds). Look at 6 and 9, which a half turn "
        f"maps near each other; the largest difference, exact minus approximate, is at digit {widest[0]} "
        f"({widest[1] - widest[2]:+.3f})",
        ["digit", f"exact ({exact} px)", f"approximate ({approx} px)"],
        [list(row) for row in per_digit],
    )
