"""The ``soft`` study's typed results (one `SoftUnit` per trained network) and the lookups over them."""

from __future__ import annotations

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
class SoftResults:
    """Every unit of a ``soft`` run."""

    units: tuple[SoftUnit, ...]


def select_units(units: Sequence[SoftUnit], task: str, model: str, priors: str) -> list[SoftUnit]:
    """The units of one (task, model, priors), by seed."""
    return sorted(
        (u for u in units if u.task == task and u.model == model and u.priors == priors),
        key=lambda u: u.seed_index,
    )


def accuracies(units: Sequence[SoftUnit], task: str, model: str, priors: str) -> list[float]:
    """The test accuracies of one (task, model, priors), by seed."""
    return [u.test_accuracy for u in select_units(units, task, model, priors)]
