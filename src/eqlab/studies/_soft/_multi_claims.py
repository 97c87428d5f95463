"""The claims of the ``soft`` study's second experiment (Section 6.3, multiple symmetries): which path of
the p4 + conv + factored dense blocks the marginal likelihood keeps, and where, on upright and on rotated
digits; read in prior precisions (the paper's reading) and in each path's share of the block output."""

from __future__ import annotations

import numpy as np

from eqlab.runs import Verdict, judge
from eqlab.studies._soft._multi_config import CONDITIONS, MULTI_MODEL
from eqlab.studies._soft._results import MultiUnit, group_over_conv, select_multi

LEARNED = 0.5
"""The premise of the second experiment: test accuracy above this in each condition (most test digits
right, five times chance for 10 classes), so that the paths read are those of a network that classifies."""
MULTI_PREMISE = "6.3 premise"
"""The start of the second experiment's premise claims."""


def _mean_ratio(unit: MultiUnit) -> float:
    return float(np.mean([group_over_conv(b) for b in unit.blocks]))


def _mean_lead(unit: MultiUnit) -> float:
    """Mean over blocks of the p4 path's share minus the conv path's."""
    return float(np.mean([b.group_share - b.conv_share for b in unit.blocks]))


def multi_premise_verdicts(units: tuple[MultiUnit, ...]) -> list[Verdict]:
    """Per condition: the networks learn the task (test accuracy above `LEARNED`, per seed)."""
    return [
        judge(
            f"{MULTI_PREMISE}, {condition} digits: the {MULTI_MODEL} networks learn the task (test accuracy "
            f"> {LEARNED:g}), so the paths below are read in networks that classify",
            [u.test_accuracy for u in select_multi(units, condition)],
            threshold=LEARNED,
        )
        for condition in CONDITIONS
    ]


def multi_verdicts(units: tuple[MultiUnit, ...]) -> list[Verdict]:
    """The Section 6.3 claims, its premise first (none when the experiment was left out)."""
    if not units:
        return []
    rotated, upright = select_multi(units, "rotated"), select_multi(units, "upright")
    out = multi_premise_verdicts(units)
    out += [
        judge(
            f"6.3, rotated digits, block {block.block}, by use: the p4 path carries more of the block's "
            "output than the conv path (p4 share - conv share > 0)",
            [u.blocks[k].group_share - u.blocks[k].conv_share for u in rotated],
        )
        for k, block in enumerate(rotated[0].blocks if rotated else ())
    ]
    out.append(
        judge(
            "6.3, by use: the p4 path's lead over the conv path grows when the digits are rotated (mean over "
            "blocks of p4 share - conv share, rotated minus upright, same seed, > 0)",
            [_mean_lead(r) - _mean_lead(u) for r, u in zip(rotated, upright, strict=True)],
        )
    )
    out.append(
        judge(
            "6.3, rotated digits, as the paper reads it: the marginal likelihood keeps the p4 path over the "
            "conv path (mean over blocks of log(conv-path / p4-path prior precision) > 0)",
            [_mean_ratio(u) for u in rotated],
        )
    )
    out.append(
        judge(
            "6.3, as the paper reads it: the p4 path is kept more on rotated than on upright digits (that "
            "mean log ratio, rotated minus upright, same seed, > 0)",
            [_mean_ratio(r) - _mean_ratio(u) for r, u in zip(rotated, upright, strict=True)],
        )
    )
    return out
