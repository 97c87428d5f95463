"""The ``subsampling`` study's results (one `SubsamplingUnit` per network, gathered in `SubsamplingResults`)
and the readings of them that the claims, tables and plots share."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from eqlab.studies._reading import maximum
from eqlab.studies._subsampling._config import DataSource, Regime


@dataclass(frozen=True)
class SubsamplingUnit:
    """One network trained at one size in one regime with one seed, and what was measured on it."""

    size: int
    regime: Regime
    seed_index: int
    final_train_loss: float
    seen: float
    """Accuracy on the upright test digits."""
    unseen: float
    """Accuracy on the test digits turned by 90, 180 and 270 degrees (exact rot90)."""
    rotated_like_training: float
    """Accuracy on the test digits rotated by angles drawn as the rotated regime's training angles."""
    angles: tuple[int, ...]
    """The rotations of the sweep, degrees."""
    accuracy_by_angle: tuple[float, ...]
    """Accuracy on the test digits rotated by each of ``angles`` (bilinear beyond quarter turns)."""
    unseen_per_class: tuple[float, ...]
    """Unseen accuracy per digit 0..9 (NaN for a digit absent from the test set)."""
    exact: bool
    """Whether `eqlab.exactness.check` certifies the trained network exact at ``size``."""
    depth_names: tuple[str, ...]
    """The spatial layers measured by depth."""
    depth_errors: tuple[float, ...]
    """The float64 relative equivariance error after each of ``depth_names``."""


@dataclass(frozen=True)
class SubsamplingResults:
    """Every unit of a ``subsampling`` run."""

    exact_size: int
    approximate_size: int
    data: DataSource
    train_examples: int
    """Training images per seed."""
    test_examples: int
    """Test images per seed."""
    units: tuple[SubsamplingUnit, ...]


def pick(results: SubsamplingResults, size: int, regime: Regime) -> list[SubsamplingUnit]:
    """The units trained at ``size`` in ``regime``, by seed."""
    return sorted(
        (u for u in results.units if u.size == size and u.regime == regime), key=lambda u: u.seed_index
    )


def period_gap(unit: SubsamplingUnit, test_examples: int) -> float:
    """The largest accuracy gap between sweep angles 90 degrees apart, in test images (NaN when no two
    angles of the sweep are 90 degrees apart)."""
    accuracy = dict(zip(unit.angles, unit.accuracy_by_angle, strict=True))
    gaps = [abs(acc - accuracy[(a + 90) % 360]) for a, acc in accuracy.items() if (a + 90) % 360 in accuracy]
    return float(round(maximum(gaps) * test_examples)) if gaps else math.nan  # a whole number of images


def mean(units: list[SubsamplingUnit], key: str) -> float:
    """The mean of the field ``key`` over ``units``."""
    return float(np.mean([getattr(u, key) for u in units]))
