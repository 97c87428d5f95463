"""The ``soft`` study's typed results (one `SoftUnit` per Section 6.1 network, one `MultiUnit` per Section
6.3 network) and the lookups over them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BlockMeasure:
    """How much one block of a trained network uses each of its paths (``None``: the block lacks it)."""

    block: str
    """The block's name in the network (``"0"``, ``"1"``, ...)."""
    conv_precision: float | None
    """The geometric mean of the prior precisions of the convolution path's weights."""
    dense_precision: float | None
    """The geometric mean of the prior precisions of the dense path's weights."""
    conv_norm: float | None
    """The norm of the convolution path's weights."""
    dense_norm: float | None
    """The norm of the dense path's weights."""
    conv_share: float | None
    """Two-path blocks: ``|conv(h)| / (|conv(h)| + |dense(h)|)`` averaged over 256 test inputs."""


@dataclass(frozen=True)
class Evidence:
    """The log marginal likelihood per data point at one epoch."""

    epoch: int
    log_evidence: float


@dataclass(frozen=True)
class SoftUnit:
    """One network trained on one task with one seed, with fixed or learned priors."""

    task: str
    model: str
    priors: str
    """``"map"`` (fixed prior precisions) or ``"marglik"`` (learned)."""
    seed_index: int
    source: str
    """Where the images came from: ``"bundled digits"``, ``"MNIST"`` or ``"CIFAR-10"``."""
    train_size: int
    test_size: int
    parameters: int
    test_accuracy: float
    shift_error: float
    """The float64 relative change of the logits under circular shifts by half the canvas (a move
    between quadrants), on 64 test images: 0 for an invariant network."""
    train_loss: tuple[float, ...]
    """Per epoch."""
    evidence: tuple[Evidence, ...]
    """Whenever the marginal likelihood was computed (with fixed priors too)."""
    groups: tuple[str, ...]
    """The parameter groups, one prior precision each."""
    prior_precision: tuple[float, ...]
    """The final prior precision of each group."""
    blocks: tuple[BlockMeasure, ...]


@dataclass(frozen=True)
class PathMeasure:
    """How much one block of a `MULTI_MODEL` network uses each of its three paths."""

    block: str
    """The block's name in the network (``"0"``, ``"1"``, ...)."""
    group_precision: float
    """The geometric mean of the prior precisions of the p4 path's weights."""
    conv_precision: float
    """The geometric mean of the prior precisions of the convolution path's weights."""
    dense_precision: float
    """The geometric mean of the prior precisions of the factored dense path's weights."""
    group_share: float
    """``|group(h)| / (|group(h)| + |conv(h)| + |dense(h)|)`` averaged over 256 test inputs."""
    conv_share: float
    """The convolution path's share, the same way."""
    dense_share: float
    """The dense path's share, the same way."""


@dataclass(frozen=True)
class MultiUnit:
    """One `MULTI_MODEL` network trained with learned priors on upright or rotated digits."""

    condition: str
    """``"upright"`` or ``"rotated"`` (`CONDITIONS`)."""
    seed_index: int
    train_size: int
    test_size: int
    parameters: int
    test_accuracy: float
    train_loss: tuple[float, ...]
    """Per epoch."""
    evidence: tuple[Evidence, ...]
    blocks: tuple[PathMeasure, ...]


def select_multi(units: Sequence[MultiUnit], condition: str) -> list[MultiUnit]:
    """The Section 6.3 units of one condition, by seed."""
    return sorted((u for u in units if u.condition == condition), key=lambda u: u.seed_index)


def group_over_conv(block: PathMeasure) -> float:
    """log(conv-path precision / p4-path precision): above 0 the conv path's prior is tighter, so the
    paper's reading favours the p4 path."""
    return math.log(block.conv_precision / block.group_precision)


@dataclass(frozen=True)
class SoftResults:
    """Every unit of a ``soft`` run: the Section 6.1 networks, and the Section 6.3 ones (empty when that
    experiment is left out)."""

    units: tuple[SoftUnit, ...]
    multi: tuple[MultiUnit, ...] = ()


def select_units(units: Sequence[SoftUnit], task: str, model: str, priors: str) -> list[SoftUnit]:
    """The units of one (task, model, priors), by seed."""
    return sorted(
        (u for u in units if u.task == task and u.model == model and u.priors == priors),
        key=lambda u: u.seed_index,
    )


def accuracies(units: Sequence[SoftUnit], task: str, model: str, priors: str) -> list[float]:
    """The test accuracies of one (task, model, priors), by seed."""
    return [u.test_accuracy for u in select_units(units, task, model, priors)]


def log_ratio(block: BlockMeasure) -> float:
    """log(dense-path precision / conv-path precision) of a two-path block: above 0 the dense path's prior
    is tighter (the paper's reading: the block is pushed towards equivariance)."""
    assert block.dense_precision is not None and block.conv_precision is not None
    return math.log(block.dense_precision / block.conv_precision)


def final_evidence(unit: SoftUnit) -> float:
    """The last log marginal likelihood per data point of a unit (NaN if it computed none)."""
    return unit.evidence[-1].log_evidence if unit.evidence else math.nan
