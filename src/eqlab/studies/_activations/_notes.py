"""The report's notes, built from the results: the seeds and what they redraw, the cells where theorem,
check and measurement part ways, the log-periodic activation, and the networks' construction and fit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from eqlab.studies._activations._config import ANGLES, NETWORK_LABELS, ActivationsConfig, Network
from eqlab.studies._activations._reading import disagrees, mark, not_constant, per_seed, seed_count
from eqlab.studies._activations._results import ActivationsResults, NetworkSeed, TableSeed


def _trivial_outcome(trivial: NetworkSeed) -> str:
    """What the trivial-feature network's free output entries make of it, from the counts, and whether it
    was trained."""
    free = trivial.last_layer_weights + trivial.last_layer_bias
    trained = (
        "it is trained like the others" if trivial.trained else "it is built and measured but not trained"
    )
    if free == 0:
        return (
            ": with none, it is the zero map whatever its weights, the extreme of Corollary 3's 'only "
            f"invariant'; {trained}."
        )
    return f": with {free} free output entries it is not forced to be the zero map; {trained}."


def notes(config: ActivationsConfig, results: ActivationsResults) -> list[str]:
    """Every note of the report, in order."""
    tables = results.tables
    return [
        f"{config.seeds} seeds. The random representations (rescaled S4, rescaled signed S3, unit-row-sum "
        "S3, C4 regular in a random basis) and the random inputs of the measurement are redrawn per seed; "
        "so is the theorem's verdict.",
        disagreement_note(tables),
        "The measured error is max |f(M x) - M f(x)| / |M f(x)| over the generators and 64 Gaussian inputs, "
        "signed basis vectors scaled by 1e-3, 1 and 1e3, and two constant vectors. check's verdict adds its "
        "own measurement (on inputs of a fixed seed) to the theorem's.",
        log_periodic_note(tables),
        *network_notes(config, results),
    ]


def disagreement_note(tables: Sequence[TableSeed]) -> str:
    """The cells where theorem, check and measurement part ways (or the theorem cannot decide)."""
    rows = [(t.seed_index, c) for t in tables for c in t.cells if disagrees(c)]
    total = sum(len(t.cells) for t in tables)
    if not rows:
        return (
            "Cells where the theorem's verdict, check's verdict and the measurement part ways, or the "
            f"theorem cannot decide: none of {total} (over all seeds)."
        )
    listed = "; ".join(
        f"seed {s}: {c.representation} / {c.activation} (theorem {mark(c.theorem)}, check {mark(c.check)}, "
        f"error {c.error:.1e})"
        for s, c in rows
    )
    return (
        "Cells where the theorem's verdict, check's verdict and the measurement part ways, or the "
        f"theorem cannot decide: {len(rows)} of {total} (boxed in the figure): {listed}."
    )


def log_periodic_note(tables: Sequence[TableSeed]) -> str:
    """What the log-periodic activation is and where eqlab's verdict admitted it on the first seed."""
    admitted = [c.representation for c in tables[0].cells if c.activation == "log-periodic" and c.theorem]
    return (
        "'log-periodic' is x (1 + 0.3 sin(2 pi log2|x|)), odd and 2-multiplicative but not semilinear; its "
        "properties are probed numerically, not looked up. The theorem admits such a function for the "
        "(signed) permutations and the (signed) 2-monomial groups; eqlab's verdict admitted it, on the first "
        f"seed, for: {', '.join(admitted) if admitted else 'none'}."
    )


def network_notes(config: ActivationsConfig, results: ActivationsResults) -> list[str]:
    """The networks' notes: how many ended constant, the seeds' draws, the construction, the fit."""
    n = config.rotation_order

    def mean(network: Network, read: Callable[[NetworkSeed], float]) -> float:
        return float(np.mean(per_seed(results, network, read)))

    def first(network: Network) -> NetworkSeed:
        return next(u for u in results.networks if u.network is network)

    trivial = first(Network.TRIVIAL)
    constant = ", ".join(
        f"{NETWORK_LABELS[network]} {seed_count(results, network) - len(not_constant(results, network))} of "
        f"{seed_count(results, network)}"
        for network in (Network.ROTATION, Network.REGULAR, Network.MLP)
    )
    return [
        f"Trained networks whose output ended constant on the measured test points (spread 0): {constant}. "
        "A constant network is equivariant whatever its features, so the claims about breaking "
        "equivariance count only the others.",
        f"Each seed draws its own training and test points and its own {ANGLES} random angles; the "
        "networks of one seed train and are tested on the same points (paired) in the same batch order, "
        "each from its own initialisation.",
        f"The networks map the plane to the plane through two hidden layers of {config.hidden_copies * n} "
        f"features; C{n} acts on input and output by rotations. The trivial-feature network's first layer "
        f"has {trivial.first_layer_weights} free weights (the rotation has no invariant linear functional) "
        f"and its output layer {trivial.last_layer_weights} weights and {trivial.last_layer_bias} bias "
        f"entries (the rotation fixes no vector){_trivial_outcome(trivial)}",
        f"Fit at this scale: mean test MSE {mean(Network.REGULAR, lambda u: u.test_mse):.3g} for the regular "
        f"network ({first(Network.REGULAR).parameters} parameters) against "
        f"{mean(Network.MLP, lambda u: u.test_mse):.3g} for the unconstrained MLP "
        f"({first(Network.MLP).parameters} parameters, not equivariant) and "
        f"{mean(Network.ROTATION, lambda u: u.test_mse):.3g} for rotating features; predicting 0 scores "
        f"{mean(Network.REGULAR, lambda u: u.target_power):.3g}. No claim is made about the MLP.",
        f"Theorem 1 admits ReLU on the regular representation of C{n}, a permutation representation, for the "
        f"{n} rotations of C{n} only; Corollary 3 says no non-constant network of this kind is SO(2)-"
        "equivariant, which the SO(2) claim tests.",
    ]
