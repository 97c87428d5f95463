"""Synthetic results of the ``soft`` study, built so that every claim reaches a chosen outcome."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from eqlab.studies._soft import (
    JOBS,
    SYMMETRIC,
    TWO_PATH,
    BlockMeasure,
    Evidence,
    MultiUnit,
    PathMeasure,
    SoftConfig,
    SoftResults,
    SoftUnit,
)

SEEDS = 3
BLOCKS = 5
OUTCOMES = ("supported", "contradicted", "inconclusive")

# per-seed values of each claim's quantity, by outcome (claims "> 0", or "> -0.02" for the margin ones)
DIFFERENCES = {
    "supported": (0.5, 0.6, 0.55),
    "contradicted": (-0.5, -0.6, -0.55),
    "inconclusive": (0.5, -0.4, 0.1),
}
MARGIN_GAPS = {  # against -0.02: learned minus the better baseline, and CONV minus FC on the digit task
    "supported": (0.01, 0.02, 0.015),
    "contradicted": (-0.1, -0.12, -0.11),
    "inconclusive": (0.05, -0.1, -0.02),
}
SHIFT_ERRORS = {  # CONV's logit change under moves between quadrants, against 1e-10 (log10 < -10)
    "supported": (1e-16, 3e-16, 2e-16),
    "contradicted": (1e-3, 2e-3, 3e-3),
    "inconclusive": (1e-16, 1e-3, 1e-9),
}
SHARE_SCALE = 0.4
"""Shares are 0.5 + SHARE_SCALE x a `DIFFERENCES` value, so they stay inside [0, 1]."""


def _path_knobs(model: str) -> tuple[str, ...]:
    return (
        f"ratio {model}",
        *(f"share {model} {k}" for k in range(BLOCKS)),
        f"drop {model}",
        f"share drop {model}",
    )


def _prior_knobs(task: str) -> tuple[str, ...]:
    gaps = tuple(f"gap {task} {model}" for model in TWO_PATH)
    return gaps + tuple(f"{what} {task} {model}" for model in TWO_PATH for what in ("learned", "evidence"))


MULTI_KNOBS = (
    "multi premise upright",
    "multi premise rotated",
    *(f"multi lead {k}" for k in range(BLOCKS)),
    "multi lead drop",
    "multi ratio",
    "multi ratio drop",
)
KNOBS = (
    "premise digit",
    "premise quadrant",
    "shift",
    *(k for model in TWO_PATH for k in _path_knobs(model)),
    *(k for task in ("digit", "quadrant") for k in _prior_knobs(task)),
    *MULTI_KNOBS,
)
"""The quantity behind each claim of the default config (digit and quadrant tasks), in the claims' order."""
PARAMETERS = {"conv": 4850, "fc": 863370, "fc+conv": 868000, "ffc+conv": 20000}


def _blocks(model: str, ratios: tuple[float, ...], shares: tuple[float, ...]) -> tuple[BlockMeasure, ...]:
    """Five blocks; block ``k`` of a two-path model has ``log(dense / conv precision) = ratios[k]`` and conv
    share ``shares[k]``."""
    out = []
    for k in range(BLOCKS):
        conv, dense = model != "fc", model != "conv"
        out.append(
            BlockMeasure(
                block=str(k),
                conv_precision=2.0 if conv else None,
                dense_precision=2.0 * math.exp(ratios[k]) if dense else None,
                conv_norm=1.0 + k if conv else None,
                dense_norm=3.0 - 0.1 * k if dense else None,
                conv_share=shares[k] if model in TWO_PATH else None,
            )
        )
    return tuple(out)


def synthetic(
    outcome: str,
    *,
    config: SoftConfig | None = None,
    moved: Mapping[str, str] | None = None,
) -> SoftResults:
    """Results of ``SEEDS`` seeds in which every claim of the study has ``outcome``, except those whose
    quantity ``moved`` gives another outcome. Each claim reads its own quantity (`KNOBS`):

    - ``premise digit``: CONV - FC accuracy on the digit task and CIFAR-10 (FC at 0.8);
    - ``premise quadrant``: FC - CONV accuracy on the quadrant task;
    - ``shift``: CONV's shift errors;
    - ``ratio {model}``: the two-path model's log(dense / conv precision), in every block, on the digit task;
    - ``share {model} {k}``: block ``k``'s conv share on the digit task;
    - ``drop {model}``: that ratio on the digit task minus on the quadrant task;
    - ``share drop {model}``: every block's share on the digit task minus on the quadrant task;
    - ``gap {task} {model}``: learned-prior accuracy minus the better baseline's;
    - ``learned {task} {model}``: learned-prior accuracy minus fixed-prior accuracy;
    - ``evidence {task} {model}``: learned-prior final log evidence minus fixed-prior;
    - ``multi premise {condition}``: Section 6.3, test accuracy minus 0.5, halved, per condition;
    - ``multi lead {k}``: Section 6.3, rotated digits, block ``k``'s p4 share minus conv share;
    - ``multi lead drop``: every block's p4-minus-conv share, rotated minus upright;
    - ``multi ratio``: log(conv / p4 precision) on rotated digits, in every block;
    - ``multi ratio drop``: that log ratio, rotated minus upright.
    """
    config = config or SoftConfig()
    moved = moved or {}

    def pick(table: Mapping[str, tuple[float, ...]], knob: str) -> tuple[float, ...]:
        return table[moved.get(knob, outcome)]

    shift = pick(SHIFT_ERRORS, "shift")
    units = []
    for seed in range(SEEDS):
        for task in config.tasks:
            conv_acc = 0.8 + (
                pick(MARGIN_GAPS, "premise digit")[seed]
                if task in SYMMETRIC
                else -pick(DIFFERENCES, "premise quadrant")[seed]
            )
            baseline = max(conv_acc, 0.8)
            for model, priors in JOBS:
                ratios, shares = (0.0,) * BLOCKS, (0.5,) * BLOCKS
                evidence = -1.5
                if model in TWO_PATH:
                    learned = baseline + pick(MARGIN_GAPS, f"gap {task} {model}")[seed]
                    accuracy = learned
                    if priors == "map":
                        accuracy -= pick(DIFFERENCES, f"learned {task} {model}")[seed]
                    else:
                        evidence += pick(DIFFERENCES, f"evidence {task} {model}")[seed]
                        digit = pick(DIFFERENCES, f"ratio {model}")[seed]
                        drop = pick(DIFFERENCES, f"drop {model}")[seed]
                        ratio = digit - drop if task == "quadrant" else digit
                        ratios = (ratio,) * BLOCKS
                        digit_shares = tuple(
                            0.5 + SHARE_SCALE * pick(DIFFERENCES, f"share {model} {k}")[seed]
                            for k in range(BLOCKS)
                        )
                        share_drop = SHARE_SCALE * pick(DIFFERENCES, f"share drop {model}")[seed]
                        shares = (
                            tuple(s - share_drop for s in digit_shares)
                            if task == "quadrant"
                            else digit_shares
                        )
                else:
                    accuracy = conv_acc if model == "conv" else 0.8
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
                        evidence=(Evidence(10, -2.0 - 0.1 * seed), Evidence(15, evidence)),
                        groups=("0.conv.conv.weight",),
                        prior_precision=(1.0,),
                        blocks=_blocks(model, ratios, shares),
                    )
                )
    return SoftResults(tuple(units), _multi(pick))


def _multi(
    pick: Callable[[Mapping[str, tuple[float, ...]], str], tuple[float, ...]],
) -> tuple[MultiUnit, ...]:
    """Section 6.3 units: the dense path's share is 0.2; the p4 and conv paths split the other 0.8 so
    that p4 - conv is ``SHARE_SCALE`` times the knob's value."""
    units = []
    for seed in range(SEEDS):
        for condition in ("upright", "rotated"):
            blocks = []
            for k in range(BLOCKS):
                lead = SHARE_SCALE * pick(DIFFERENCES, f"multi lead {k}")[seed]
                ratio = pick(DIFFERENCES, "multi ratio")[seed]
                if condition == "upright":
                    lead -= SHARE_SCALE * pick(DIFFERENCES, "multi lead drop")[seed]
                    ratio -= pick(DIFFERENCES, "multi ratio drop")[seed]
                blocks.append(
                    PathMeasure(
                        block=str(k),
                        group_precision=2.0,
                        conv_precision=2.0 * math.exp(ratio),
                        dense_precision=1.0 + k,
                        group_share=0.4 + lead / 2,
                        conv_share=0.4 - lead / 2,
                        dense_share=0.2,
                    )
                )
            units.append(
                MultiUnit(
                    condition=condition,
                    seed_index=seed,
                    train_size=1000,
                    test_size=797,
                    parameters=28944,
                    test_accuracy=0.5 + 0.5 * pick(DIFFERENCES, f"multi premise {condition}")[seed],
                    train_loss=(2.0, 1.0),
                    evidence=(Evidence(10, -2.0), Evidence(15, -1.5 - 0.1 * seed)),
                    blocks=tuple(blocks),
                )
            )
    return tuple(units)
