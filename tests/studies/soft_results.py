"""Synthetic results of the ``soft`` study, built so that every claim reaches a chosen outcome."""

from __future__ import annotations

import math
from collections.abc import Mapping

from eqlab.studies._soft import (
    MODELS,
    PRIORS,
    TWO_PATH,
    BlockMeasure,
    Evidence,
    SoftConfig,
    SoftResults,
    SoftUnit,
)

SEEDS = 3
OUTCOMES = ("supported", "contradicted", "inconclusive")

# per-seed values of each claim's quantity, by outcome (claims "> 0", or "> -0.02" for the baseline one)
DIFFERENCES = {
    "supported": (0.5, 0.6, 0.55),
    "contradicted": (-0.5, -0.6, -0.55),
    "inconclusive": (0.5, -0.4, 0.1),
}
BASELINE_GAPS = {  # learned minus the better baseline, against -0.02
    "supported": (0.01, 0.02, 0.015),
    "contradicted": (-0.1, -0.12, -0.11),
    "inconclusive": (0.05, -0.1, -0.02),
}
SHIFT_ERRORS = {  # CONV's logit change under moves between quadrants, against 1e-10 (log10 < -10)
    "supported": (1e-16, 3e-16, 2e-16),
    "contradicted": (1e-3, 2e-3, 3e-3),
    "inconclusive": (1e-16, 1e-3, 1e-9),
}
KNOBS = (
    "shift",
    "ratio fc+conv",
    "drop fc+conv",
    "ratio ffc+conv",
    "drop ffc+conv",
    "gap digit fc+conv",
    "gap digit ffc+conv",
    "learned digit fc+conv",
    "learned digit ffc+conv",
    "gap quadrant fc+conv",
    "gap quadrant ffc+conv",
    "learned quadrant fc+conv",
    "learned quadrant ffc+conv",
)
"""The quantity behind each claim of the default config (digit and quadrant tasks), in the claims' order."""
PARAMETERS = {"conv": 4850, "fc": 863370, "fc+conv": 868000, "ffc+conv": 20000}


def _blocks(model: str, log_ratio: float, share: float) -> tuple[BlockMeasure, ...]:
    """Five blocks; the two-path ones have ``log(dense / conv precision) = log_ratio`` in each block."""
    out = []
    for k in range(5):
        two = model in TWO_PATH
        conv = model != "fc"
        dense = model != "conv"
        out.append(
            BlockMeasure(
                block=str(k),
                conv_precision=2.0 if conv else None,
                dense_precision=2.0 * math.exp(log_ratio) if dense else None,
                conv_norm=1.0 + k if conv else None,
                dense_norm=3.0 - 0.1 * k if dense else None,
                conv_share=share if two else None,
            )
        )
    return tuple(out)


def synthetic(
    outcome: str,
    *,
    conv_ahead: bool = True,
    config: SoftConfig | None = None,
    moved: Mapping[str, str] | None = None,
) -> SoftResults:
    """Results of ``SEEDS`` seeds in which every claim of the study has ``outcome``, except those whose
    quantity ``moved`` gives another outcome. Each claim reads its own quantity (`KNOBS`):

    - ``shift``: CONV's shift errors;
    - ``ratio {model}``: the two-path model's log(dense / conv precision) on the symmetric tasks;
    - ``drop {model}``: that ratio on the digit task minus on the quadrant task;
    - ``gap {task} {model}``: learned-prior accuracy minus the better baseline's;
    - ``learned {task} {model}``: learned-prior accuracy minus fixed-prior accuracy.

    ``conv_ahead`` puts CONV's fixed-prior accuracy above FC's on every task (else below); the better
    of the two is 0.8 either way, so no claim depends on it.
    """
    config = config or SoftConfig()
    moved = moved or {}

    def pick(table: Mapping[str, tuple[float, ...]], knob: str) -> tuple[float, ...]:
        return table[moved.get(knob, outcome)]

    shift = pick(SHIFT_ERRORS, "shift")
    units = []
    for seed in range(SEEDS):
        for task in config.tasks:
            for model in MODELS:
                ratio = DIFFERENCES[outcome][seed]  # CONV and FC have one path: no claim reads it
                if model in TWO_PATH:
                    digit_ratio = pick(DIFFERENCES, f"ratio {model}")[seed]
                    # the quadrant task's ratio makes the digit minus quadrant difference ``drop``
                    drop = pick(DIFFERENCES, f"drop {model}")[seed]
                    ratio = digit_ratio if task != "quadrant" else digit_ratio - drop
                for priors in PRIORS:
                    if model in TWO_PATH:
                        learned = 0.8 + pick(BASELINE_GAPS, f"gap {task} {model}")[seed]
                        over_fixed = pick(DIFFERENCES, f"learned {task} {model}")[seed]
                        accuracy = learned if priors == "marglik" else learned - over_fixed
                    else:
                        ahead = (model == "conv") == conv_ahead
                        accuracy = 0.8 if ahead else 0.7
                    units.append(
                        SoftUnit(
                            task=task,
                            model=model,
                            priors=priors,
                            seed_index=seed,
                            source="bundled digits",
                            train_size=1000,
                            test_size=797,
                            parameters=PARAMETERS[model] + (30 * 4 * 5 if task == "quadrant" else 0),
                            test_accuracy=accuracy,
                            shift_error=shift[seed] if model == "conv" else 0.5 + 0.1 * seed,
                            train_loss=(2.0, 1.0 - 0.1 * seed),
                            evidence=(Evidence(10, -2.0 - 0.1 * seed), Evidence(15, -1.5)),
                            groups=("0.conv.conv.weight",),
                            prior_precision=(1.0,),
                            blocks=_blocks(model, ratio if priors == "marglik" else 0.0, 0.5 + 0.1 * seed),
                        )
                    )
    return SoftResults(tuple(units))
