"""Synthetic results of the activations study, built so that each claim takes the outcome a test asks for.

Every claim reads one per-seed quantity; `results(values)` builds results whose quantities are the given
values (three seeds each), and `SCENARIOS` gives, per claim, values that make it supported, contradicted
and inconclusive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eqlab.runs import Status
from eqlab.studies._activations import (
    ACTIVATIONS,
    REPRESENTATIONS,
    ActivationsConfig,
    ActivationsResults,
    Cell,
    Network,
    NetworkSeed,
    RepresentationRow,
    TableSeed,
)

SEEDS = 3
CONFIG = ActivationsConfig(seeds=SEEDS)
TARGET_POWER = 0.5
"""Every seed's target mean square (the test MSE of predicting 0)."""

SUPPORTED, CONTRADICTED, INCONCLUSIVE = Status.SUPPORTED, Status.CONTRADICTED, Status.INCONCLUSIVE

SMALL = (1e-16, 3e-16, 2e-16)
"""Rounding-level errors: below 1e-12 on every seed."""
LARGE = (0.3, 0.4, 0.5)
"""Order-one errors: above 1e-6 on every seed."""
STRADDLING = (1e-2, 1e-15, 1e-9)
"""Errors whose log10 interval contains both -6 and -12."""

SCENARIOS: dict[str, dict[Status, Sequence[float]]] = {
    "true_error": {SUPPORTED: SMALL, CONTRADICTED: LARGE, INCONCLUSIVE: STRADDLING},
    "false_error": {SUPPORTED: LARGE, CONTRADICTED: SMALL, INCONCLUSIVE: STRADDLING},
    "rotation_cn": {SUPPORTED: LARGE, CONTRADICTED: SMALL, INCONCLUSIVE: STRADDLING},
    "regular_so2": {SUPPORTED: LARGE, CONTRADICTED: SMALL, INCONCLUSIVE: STRADDLING},
    "regular_mse": {
        SUPPORTED: (0.01, 0.02, 0.015),
        CONTRADICTED: (1.0, 2.0, 1.5),
        INCONCLUSIVE: (0.3, 0.9, 0.5),
    },
    "regular_cn": {SUPPORTED: SMALL, CONTRADICTED: LARGE, INCONCLUSIVE: STRADDLING},
    "trivial_spread": {SUPPORTED: (0.0, 0.0, 0.0), CONTRADICTED: LARGE, INCONCLUSIVE: (1e-6, 1e-20, 1e-14)},
}
"""Per claim (named by the quantity it reads), values for three seeds that make it take each outcome."""

CLAIMS = {
    "true_error": "where it says equivariant",
    "false_error": "where it says not equivariant",
    "rotation_cn": "rotating hidden features",
    "regular_so2": "not SO(2)-equivariant",
    "regular_mse": "is not trivial",
    "regular_cn": "keeps the network exactly",
    "trivial_spread": "the zero map by construction",
}
"""Per quantity, words that pick out its claim's verdict."""

DEMONSTRATIONS = {"regular_cn", "trivial_spread"}
"""The claims true by construction."""


def values_for(status: Status) -> dict[str, Sequence[float]]:
    """Every claim's values for one outcome."""
    return {name: outcomes[status] for name, outcomes in SCENARIOS.items()}


def _theorem(rep: str, act: str) -> bool:
    """A made-up verdict: equivariant for the identity and on the regular representation of C4."""
    return act == "identity" or rep == "C4 regular"


def _table(seed: int, values: Mapping[str, Sequence[float]]) -> TableSeed:
    reps = tuple(
        RepresentationRow(
            rep, "permutation", None, "any continuous function", 4, "none needed" if not seed else None
        )
        for rep in REPRESENTATIONS
    )
    cells = []
    for rep in REPRESENTATIONS:
        for act in ACTIVATIONS:
            theorem = _theorem(rep, act)
            error = values["true_error" if theorem else "false_error"][seed]
            cells.append(Cell(rep, act, theorem, theorem, error, 0, (1.0, -1.0), "made up"))
    return TableSeed(seed, reps, tuple(cells))


def _network(network: Network, seed: int, values: Mapping[str, Sequence[float]]) -> NetworkSeed:
    spread = values["trivial_spread"][seed] if network is Network.TRIVIAL else 1.0
    cn = {Network.ROTATION: values["rotation_cn"][seed], Network.REGULAR: values["regular_cn"][seed]}
    mse = {Network.REGULAR: values["regular_mse"][seed], Network.TRIVIAL: TARGET_POWER * (1 + spread)}
    return NetworkSeed(
        network=network,
        seed_index=seed,
        trained=network is not Network.TRIVIAL,
        test_mse=mse.get(network, 0.05),
        target_power=TARGET_POWER,
        cn_error=cn.get(network, 0.0 if network is Network.TRIVIAL else 0.2),
        so2_error=values["regular_so2"][seed] if network is Network.REGULAR else 0.1,
        output_spread=spread,
        first_layer_weights=0 if network is Network.TRIVIAL else 16,
        last_layer_weights=0 if network is Network.TRIVIAL and spread == 0 else 8,
        last_layer_bias=0,
        parameters=100,
    )


def results(values: Mapping[str, Sequence[float]]) -> ActivationsResults:
    """Results of `SEEDS` seeds whose claims read ``values``."""
    return ActivationsResults(
        tables=tuple(_table(seed, values) for seed in range(SEEDS)),
        networks=tuple(_network(network, seed, values) for seed in range(SEEDS) for network in Network),
    )
