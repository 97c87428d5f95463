"""The report parts of the ``soft`` study's second experiment (Section 6.3): its table, plot and notes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from eqlab.runs import Status, Table
from eqlab.runs._verdict import mean_interval
from eqlab.studies._plotting import save_figure
from eqlab.studies._soft._multi_claims import MULTI_PREMISE, multi_premise_verdicts
from eqlab.studies._soft._multi_config import CONDITIONS, MULTI_MODEL, PATHS
from eqlab.studies._soft._results import MultiUnit, PathMeasure, select_multi

LABELS = {"group": "p4", "conv": "conv", "dense": "ffc"}
"""The paths' names in the report."""

DIFFERENCE_NOTE = (
    "eqlab's p4 path differs from the paper's rotation path. The paper shares one convolution over four "
    "rotated copies of the input and rotates the outputs back; eqlab's lifting layer rotates the filter "
    "instead, which gives the same outputs up to where each orientation is stored, but its later blocks "
    "are full p4 group convolutions (GroupConv2d) that mix the four orientations of their input with "
    "4 C C' 9 free weights, where the paper applies one C C' 9 convolution to each rotated copy. The "
    "group axis is folded into the channels (channel c * 4 + g), which the conv and dense paths beside it "
    "read as plain channels. The paper's reading compares per-weight prior precisions, and after the first "
    "block a p4 output reads 4 times as many inputs as a conv output (all four orientations of each "
    "channel), so one condition's precision ratio mixes the paths' fan-ins into the comparison; the "
    "rotated-minus-upright claims pair the same paths and cancel that difference."
)


def _share(block: PathMeasure, path: str) -> float:
    return float(getattr(block, f"{path}_share"))


def _precision(block: PathMeasure, path: str) -> float:
    return float(getattr(block, f"{path}_precision"))


def multi_table(units: Sequence[MultiUnit]) -> Table:
    """Per condition and block: each path's prior precision (geometric mean over seeds) and share of the
    block output (mean over seeds)."""
    rows = []
    for condition in CONDITIONS:
        sel = select_multi(units, condition)
        for k, block in enumerate(sel[0].blocks if sel else ()):
            rows.append(
                [condition, block.block]
                + [float(np.exp(np.mean([np.log(_precision(u.blocks[k], p)) for u in sel]))) for p in PATHS]
                + [float(np.mean([_share(u.blocks[k], p) for u in sel])) for p in PATHS]
            )
    return Table(
        f"Section 6.3 ({MULTI_MODEL} blocks, learned priors): per block, each path's prior precision "
        "(geometric mean over seeds) and share of the block output (mean over seeds)",
        ["condition", "block"]
        + [f"{LABELS[p]} precision" for p in PATHS]
        + [f"{LABELS[p]} share" for p in PATHS],
        rows,
    )


def multi_plot(units: Sequence[MultiUnit], path: Path) -> None:
    """Per condition: each path's share of every block's output (means over seeds, 95% intervals), saved
    to ``path``."""
    fig, axes = plt.subplots(1, len(CONDITIONS), figsize=(5 * len(CONDITIONS), 4), dpi=110, sharey=True)
    for ax, condition in zip(axes, CONDITIONS, strict=True):
        sel = select_multi(units, condition)
        blocks = len(sel[0].blocks) if sel else 0
        for j, p in enumerate(PATHS):
            stats = [mean_interval([_share(u.blocks[k], p) for u in sel]) for k in range(blocks)]
            means = [m for m, _, _ in stats]
            halves = [0.0 if np.isnan(low) else (high - low) / 2 for _, low, high in stats]
            ax.errorbar(
                np.arange(blocks) + 0.05 * j, means, yerr=halves, marker="o", capsize=3, label=LABELS[p]
            )
        ax.set_title(f"{condition} digits, learned priors")
        ax.set_xlabel("block")
        ax.set_xticks(range(blocks))
        ax.set_ylim(0, 1)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("path's share of the block output")
    axes[0].legend()
    save_figure(fig, path)


def _premise_note(units: Sequence[MultiUnit]) -> str:
    """What the second experiment's premise verdicts say for its claims, built from those verdicts."""
    found = multi_premise_verdicts(tuple(units))
    parts = [
        f"{v.claim.split(':')[0].removeprefix(MULTI_PREMISE + ', ')}: {v.status.value} "
        f"(mean test accuracy {v.mean:.3f}, 95% interval [{v.low:.3f}, {v.high:.3f}])"
        for v in found
    ]
    if all(v.status is Status.SUPPORTED for v in found):
        return (
            "Section 6.3's premise holds on this run (" + "; ".join(parts) + "): its claims read the paths "
            "of networks that classify."
        )
    return (
        "Section 6.3's premise is not supported on this run (" + "; ".join(parts) + "): its claims are not "
        "tests of the paper's mechanism, since which path a network keeps says little while the network "
        "has not learned the task."
    )


def multi_notes(units: Sequence[MultiUnit]) -> list[str]:
    """How the experiment was run and, from the results, which path leads each block by each reading."""
    if not units:
        return ["The multiple-symmetry experiment (Section 6.3) was left out of this run (multi.enabled)."]
    notes = [
        f"Section 6.3: {MULTI_MODEL} networks ({units[0].parameters:,} parameters) trained with learned "
        "priors on the digit task's canvases, upright and with every digit turned by a multiple of 90 "
        "degrees drawn per image from the seed's own stream (named 'rotations'); within a seed both "
        "conditions share the split, the placements, the initial weights and the batch order, so "
        "rotated-minus-upright "
        "differences are paired.",
        DIFFERENCE_NOTE,
        _premise_note(units),
    ]
    for condition in CONDITIONS:
        sel = select_multi(units, condition)
        if not sel:
            continue
        by_use, by_precision = [], []
        for k, block in enumerate(sel[0].blocks):
            shares = {p: float(np.mean([_share(u.blocks[k], p) for u in sel])) for p in PATHS}
            loosest = {p: float(np.mean([np.log(_precision(u.blocks[k], p)) for u in sel])) for p in PATHS}
            by_use.append(f"{block.block}: {LABELS[max(shares, key=shares.__getitem__)]}")
            by_precision.append(f"{block.block}: {LABELS[min(loosest, key=loosest.__getitem__)]}")
        accuracy = float(np.mean([u.test_accuracy for u in sel]))
        notes.append(
            f"Section 6.3, {condition} digits (mean test accuracy {accuracy:.3f} over {len(sel)} seed(s)): "
            f"the path with the largest mean share per block is {', '.join(by_use)}; the path with the "
            f"loosest prior (lowest precision) per block is {', '.join(by_precision)}."
        )
    return notes
