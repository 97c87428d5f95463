"""The ``soft`` study's tables: accuracy, shift error and evidence per network, and the learned amount of
equivariance per block."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from eqlab.runs import Table
from eqlab.runs._verdict import mean_interval
from eqlab.studies._reading import maximum
from eqlab.studies._soft._config import MODELS, PRIORS, TWO_PATH, SoftConfig
from eqlab.studies._soft._results import SoftUnit, select_units


def _geomean(values: Sequence[float]) -> float:
    return float(np.exp(np.mean(np.log(values))))


def tables(config: SoftConfig, units: Sequence[SoftUnit]) -> list[Table]:
    """The accuracy table (every task, model and priors) and the per-block table (two-path models,
    learned priors)."""
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
                        maximum(u.shift_error for u in sel),
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
