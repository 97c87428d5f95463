"""Synthetic results of the layerwise study, built so that each claim takes the outcome a test asks for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eqlab.layerwise import BarrierCurve
from eqlab.layerwise._align import CycleStructure
from eqlab.studies._layerwise import (
    FirstLayer,
    InitialResult,
    LayerwiseConfig,
    LayerwiseResults,
    NetworkResult,
    PairResult,
    Regime,
    ToyResult,
)

CONFIG = LayerwiseConfig(seeds=6)
"""Six seeds: three pairs."""
LAYERS = ("0", "4", "9")
"""Two convolutions and the classifier."""
TEST_SIZE = 539
"""The digits' test share at the default split (chance bound 0.139 for 10 classes)."""
SELF_BARRIER = 0.5
"""Every self-barrier: above the largest negative gap, since a barrier cannot fall below 0."""
TEST_ACCURACY = 0.9
FIRST_ERROR = 0.5
"""Every flip-trained network's first-layer weight error (the plain ones add the augmentation gap, the
untrained ones the training gap)."""
FLIP_ERRORS = (FIRST_ERROR, 0.8, 0.3)
"""A flip-trained network's per-layer weight errors."""


def curve(barrier: float, rise: float = 0.0) -> BarrierCurve:
    """A three-point path whose loss barrier is ``barrier``, with loss 1 at its start and ``1 + rise`` at
    its end."""
    return BarrierCurve((0.0, 0.5, 1.0), (1.0, 1.0 + rise / 2 + barrier, 1.0 + rise), (0.9, 0.85, 0.9))


def _structure() -> tuple[CycleStructure, ...]:
    return tuple(
        CycleStructure(name, size, size - 2, 1, 0, 0, True, True, 0.0, "linear assignment")
        for name, size in (("0", 4), ("4", 8))
    )


def _network(regime: Regime, seed: int, values: Mapping[str, Sequence[float]]) -> NetworkResult:
    extra = values["augmentation"][seed] if regime is Regime.PLAIN else 0.0
    errors = tuple(e + extra for e in FLIP_ERRORS)
    return NetworkResult(
        regime=regime,
        seed=seed,
        pair=seed // 2,
        final_train_loss=0.1,
        test_loss=0.3,
        test_accuracy=TEST_ACCURACY,
        flipped_test_accuracy=TEST_ACCURACY + values["flipped"][seed],
        layers=LAYERS,
        weight_errors=errors,
        activation_errors=tuple(e / 2 for e in errors),
        weight_changes=(0.2, 0.5, 1.5),
        structure=_structure(),
        self_barrier=curve(SELF_BARRIER, rise=-values["flipped"][seed]),  # less accurate: higher loss
        self_barrier_train=curve(SELF_BARRIER),
        merged_accuracy=TEST_ACCURACY + values["merge"][seed],
        merged_invariance=values["invariance"][seed],
        first_layer=FirstLayer((1, 0, 2, 3), (4, 1, 3, 3), tuple(float(k % 7) for k in range(36))),
    )


def results(values: Mapping[str, Sequence[float]]) -> LayerwiseResults:
    """Results of ``CONFIG.seeds`` seeds from per-claim values:

    - ``gap``: per pair, the aligned pair barrier minus the mean self-barrier (both regimes, unless
      ``gap flip`` or ``gap plain`` gives one regime its own);
    - ``augmentation``: per seed, the plain network's mean weight error minus the flip network's;
    - ``training``: per seed, the untrained network's mean weight error over the convolutions minus the
      flip-trained network's (the untrained classifier's error is 0.9);
    - ``merge``: per seed, merged minus original test accuracy (both regimes);
    - ``invariance``: per seed, the merged network's invariance error (both regimes);
    - ``flipped``: per seed, the flipped self's accuracy minus the network's (both regimes);
    - ``toy_invariance``, ``toy_weight_error``: per construction.
    """
    networks = [_network(regime, seed, values) for regime in Regime for seed in range(CONFIG.seeds)]
    pairs = [
        PairResult(
            regime=regime,
            pair=pair,
            seeds=(2 * pair, 2 * pair + 1),
            aligned=curve(SELF_BARRIER + values.get(f"gap {regime}", values["gap"])[pair]),
            naive=curve(1.0),
            aligned_train=curve(SELF_BARRIER + values.get(f"gap {regime}", values["gap"])[pair]),
            naive_train=curve(1.0),
            weight_errors=(0.9, 0.9, 0.9),
        )
        for regime in Regime
        for pair in range(CONFIG.seeds // 2)
    ]
    initial = [
        InitialResult(
            seed=seed,
            pair=seed // 2,
            weight_errors=(
                FLIP_ERRORS[0] + values["training"][seed],
                FLIP_ERRORS[1] + values["training"][seed],
                0.9,
            ),
            activation_errors=(0.6, 0.7, 0.01),
        )
        for seed in range(CONFIG.seeds)
    ]
    toys = [
        ToyResult(invariance=i, weight_error=w, activation_error=w)
        for i, w in zip(values["toy_invariance"], values["toy_weight_error"], strict=True)
    ]
    return LayerwiseResults(
        dataset="digits 16x16",
        widths=(4, 8),
        pool_after=(0,),
        split_per_pair=True,
        test_size=TEST_SIZE,
        classes=10,
        networks=tuple(networks),
        initial=tuple(initial),
        pairs=tuple(pairs),
        toys=tuple(toys),
    )


GOOD = {
    "gap": [0.2, 0.25, 0.3],
    "augmentation": [0.2, 0.25, 0.3, 0.22, 0.27, 0.24],
    "training": [0.3, 0.35, 0.4, 0.32, 0.37, 0.34],
    "merge": [-0.01, -0.02, 0.0, -0.015, -0.005, -0.01],
    "invariance": [1e-16, 3e-16, 2e-16, 4e-16, 1.5e-16, 2.5e-16],
    "flipped": [-0.3, -0.25, -0.35, -0.28, -0.32, -0.3],
    "toy_invariance": [1e-16, 3e-16, 2e-16],
    "toy_weight_error": [1.0, 0.9, 1.1],
}
"""Every claim supported (and the flipped self clearly the worse classifier)."""
BAD = {
    "gap": [-0.2, -0.25, -0.3],
    "augmentation": [-0.2, -0.25, -0.3, -0.22, -0.27, -0.24],
    "training": [-0.2, -0.25, -0.3, -0.22, -0.27, -0.24],
    "merge": [-0.3, -0.35, -0.25, -0.3, -0.32, -0.28],
    "invariance": [1e-3, 2e-3, 3e-3, 1.5e-3, 2.5e-3, 1e-3],
    "flipped": [0.01, -0.01, 0.0, 0.005, -0.005, 0.002],
    "toy_invariance": [1e-3, 2e-3, 3e-3],
    "toy_weight_error": [1e-3, 2e-3, 3e-3],
}
"""Every claim contradicted (and the flipped self about as accurate as the network)."""
MIXED = {
    "gap": [0.3, -0.3, 0.05],
    "augmentation": [0.3, -0.3, 0.05, -0.1, 0.1, 0.0],
    "training": [0.3, -0.3, 0.05, -0.1, 0.1, 0.0],
    "merge": [0.1, -0.2, -0.05, 0.0, -0.1, -0.05],
    "invariance": [1e-16, 1e-3, 1e-12, 1e-16, 1e-3, 1e-12],
    "flipped": [0.3, -0.3, 0.05, -0.1, 0.1, 0.0],
    "toy_invariance": [1e-16, 1e-3, 1e-12],
    "toy_weight_error": [1.0, 1e-3, 0.1],
}
"""Every claim inconclusive: each interval straddles its threshold."""
