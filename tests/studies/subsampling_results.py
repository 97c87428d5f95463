"""Synthetic results of the subsampling study: three seeds whose values make each claim supported,
contradicted or inconclusive, for the report's tests."""

from __future__ import annotations

from dataclasses import dataclass

from eqlab.studies._subsampling import (
    DataSource,
    Regime,
    SubsamplingConfig,
    SubsamplingResults,
    SubsamplingUnit,
)

CONFIG = SubsamplingConfig(seeds=3, angle_step=30)
EXACT, APPROX = 33, 32
TEST_EXAMPLES = 500
ANGLES = tuple(range(0, 360, CONFIG.angle_step))
NAMES = ("0", "3", "6", "9")


@dataclass(frozen=True)
class Claims:
    """Per seed, the quantity behind each claim (the study's five, in order)."""

    exact_error: tuple[float, ...]
    """The exact network's last-layer error, trained upright."""
    approx_error: tuple[float, ...]
    """The approximate network's last-layer error, trained upright."""
    unseen_gain: tuple[float, ...]
    """Unseen accuracy, exact minus approximate, trained upright."""
    period_gap: tuple[int, ...]
    """The exact network's largest accuracy gap between angles 90 degrees apart, in test images."""
    rotated_gain: tuple[float, ...]
    """Accuracy on data rotated like training, approximate minus exact, trained rotated."""


SUPPORTED = Claims(
    exact_error=(1e-16, 3e-16, 2e-16),
    approx_error=(0.1, 0.2, 0.3),
    unseen_gain=(0.2, 0.25, 0.3),
    period_gap=(0, 0, 0),
    rotated_gain=(0.01, 0.02, 0.015),
)
CONTRADICTED = Claims(
    exact_error=(1e-3, 2e-3, 3e-3),
    approx_error=(1e-16, 2e-16, 3e-16),
    unseen_gain=(-0.2, -0.25, -0.3),
    period_gap=(30, 40, 50),
    rotated_gain=(-0.2, -0.25, -0.3),
)
INCONCLUSIVE = Claims(
    exact_error=(1e-16, 1e-3, 1e-20),
    approx_error=(0.1, 1e-16, 1e-9),
    unseen_gain=(0.2, -0.2, 0.05),
    period_gap=(0, 0, 3),
    rotated_gain=(0.1, -0.2, 0.0),
)


def _curve(base: float, period_gap: int) -> tuple[float, ...]:
    """Accuracy against angle: 90-degree periodic, but ``period_gap`` test images better at 0 degrees."""
    periodic = [base - 0.2 * abs(((a % 90) - 45) / 45 - 1) for a in ANGLES]
    periodic[0] += period_gap / TEST_EXAMPLES
    return tuple(periodic)


def _unit(size: int, regime: Regime, seed: int, claims: Claims) -> SubsamplingUnit:
    exact = size == EXACT
    upright = regime is Regime.UPRIGHT
    error = (claims.exact_error if exact else claims.approx_error)[seed]
    unseen = 0.5 + (claims.unseen_gain[seed] if exact else 0.0)
    like_training = 0.8 + (0.0 if exact else claims.rotated_gain[seed])
    gap = claims.period_gap[seed] if exact and upright else 7
    per_class = tuple(unseen - (0.3 if c in (6, 9) and not exact else 0.0) for c in range(10))
    return SubsamplingUnit(
        size=size,
        regime=regime,
        seed_index=seed,
        final_train_loss=0.1,
        seen=0.95,
        unseen=unseen,
        rotated_like_training=like_training,
        angles=ANGLES,
        accuracy_by_angle=_curve(0.9, gap),
        unseen_per_class=per_class,
        exact=exact,
        depth_names=NAMES,
        depth_errors=(error / 100, error / 10, error, error),
    )


def synthetic_results(claims: Claims) -> SubsamplingResults:
    """Three seeds of results in which the study's claims take the values of ``claims``."""
    units = tuple(
        _unit(size, regime, seed, claims)
        for seed in range(3)
        for regime in Regime
        for size in (EXACT, APPROX)
    )
    return SubsamplingResults(EXACT, APPROX, DataSource.DIGITS, 1258, TEST_EXAMPLES, units)
