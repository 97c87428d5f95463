"""The ``soft`` study's tables: accuracy, shift error and evidence per network, and the learned amount of
equivariance per block."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from eqlab.runs import Table
from eqlab.runs._verdict import mean_interval
from eqlab.studies._reading import maximum
from eqlab.studies._soft._config import JOBS, SHARE, TWO_PATH, SoftConfig
from eqlab.studies._soft._results import SoftUnit, final_evidence, log_ratio, select_units


def _geomean(values: Sequence[float]) -> float:
    return float(np.exp(np.mean(np.log(values))))


def readings(config: SoftConfig, units: Sequence[SoftUnit]) -> list[tuple[str, str, str, float, float]]:
    """Per task, two-path model and block with learned priors: ``(task, model, block, mean log(dense /
    conv precision), mean conv share)`` over seeds."""
    out = []
    for task in config.tasks:
        for model_name in TWO_PATH:
            sel = select_units(units, task, model_name, "marglik")
            for k, block in enumerate(sel[0].blocks if sel else ()):
                if block.conv_share is None:
                    continue
                out.append(
                    (
                        task,
                        model_name,
                        block.block,
                        float(np.mean([log_ratio(u.blocks[k]) for u in sel])),
                        float(np.mean([u.blocks[k].conv_share for u in sel])),
                    )
                )
    return out


def favours(ratio: float, share: float) -> tuple[str, str]:
    """Which path each reading favours: the precisions (``ratio`` > 0: the dense prior is tighter, so the
    conv path) and the use (``share`` > 0.5: the conv path carries more of the output)."""
    return ("conv" if ratio > 0 else "dense"), ("conv" if share > SHARE else "dense")


def tables(config: SoftConfig, units: Sequence[SoftUnit]) -> list[Table]:
    """The accuracy table (every task and trained (model, priors)) and the per-block table (two-path
    models, learned priors) with what each reading favours."""
    rows = []
    for task in config.tasks:
        for model_name, priors in JOBS:
            sel = select_units(units, task, model_name, priors)
            if not sel:
                continue
            mean, low, high = mean_interval([u.test_accuracy for u in sel])
            final = [final_evidence(u) for u in sel]
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
    for task, model_name, block, ratio, share in readings(config, units):
        sel = select_units(units, task, model_name, "marglik")
        k = [b.block for b in sel[0].blocks].index(block)
        by_precision, by_use = favours(ratio, share)
        block_rows.append(
            [
                task,
                model_name,
                block,
                _geomean([u.blocks[k].conv_precision for u in sel]),  # type: ignore[misc]
                _geomean([u.blocks[k].dense_precision for u in sel]),  # type: ignore[misc]
                ratio,
                share,
                by_precision,
                by_use,
                "yes" if by_precision == by_use else "no",
            ]
        )
    block_table = Table(
        "Per block with learned priors: the paper's reading (prior precisions; geometric means over seeds) "
        "and the use (the conv path's share of the block output; mean over seeds), the path each favours, "
        "and whether they agree",
        [
            "task",
            "model",
            "block",
            "conv precision",
            "dense precision",
            "log(dense / conv)",
            "conv share",
            "precisions favour",
            "use favours",
            "agree",
        ],
        block_rows,
    )
    return [accuracy_table, block_table]
