"""The ``layerwise`` study's tables: accuracies, barriers and merges per regime, the self-alignment errors per
layer, the cycle structure of the self-alignment permutations, and the constructed invariant networks."""

from __future__ import annotations

from eqlab.runs import Table
from eqlab.studies._layerwise._config import Regime
from eqlab.studies._layerwise._results import (
    LayerwiseResults,
    above_chance,
    initial_of,
    mean_or_nan,
    networks_of,
    pairs_of,
)
from eqlab.studies._reading import maximum


def summary_table(results: LayerwiseResults) -> Table:
    """Per regime, means over seeds (every network): training loss, accuracies, test and training
    barriers, the merged network."""
    rows = []
    for regime in Regime:
        nets, pairs = networks_of(results, regime), pairs_of(results, regime)
        rows.append(
            [
                str(regime),
                f"{sum(not above_chance(results, n) for n in nets)} of {len(nets)}",
                maximum(n.final_train_loss for n in nets),
                mean_or_nan([n.test_accuracy for n in nets]),
                mean_or_nan([n.flipped_test_accuracy for n in nets]),
                mean_or_nan([n.self_barrier.loss_barrier for n in nets]),
                mean_or_nan([p.aligned.loss_barrier for p in pairs]),
                mean_or_nan([p.naive.loss_barrier for p in pairs]),
                mean_or_nan([n.self_barrier_train.loss_barrier for n in nets]),
                mean_or_nan([p.aligned_train.loss_barrier for p in pairs]),
                mean_or_nan([n.self_barrier.accuracy_barrier for n in nets]),
                mean_or_nan([p.aligned.accuracy_barrier for p in pairs]),
                mean_or_nan([n.merged_accuracy for n in nets]),
                maximum(n.merged_invariance for n in nets),
            ]
        )
    return Table(
        "Per regime (means over all seeds, those at chance level included): training loss, accuracy, "
        "barriers (test loss and accuracy) and the merged network",
        [
            "training",
            "at chance level",
            "last-epoch train loss (max)",
            "test acc.",
            "acc. on flipped test",
            "self loss barrier",
            "pair loss barrier (aligned)",
            "pair loss barrier (naive)",
            "self loss barrier (train)",
            "pair loss barrier (aligned, train)",
            "self acc. barrier",
            "pair acc. barrier (aligned)",
            "merged acc.",
            "merged invariance error (max)",
        ],
        rows,
    )


def layer_table(results: LayerwiseResults, layers: tuple[str, ...]) -> Table:
    """Per regime and weighted layer: how far training moved the weights, and the self-alignment's weight
    and activation errors of the trained networks beside those of the same seeds' untrained networks."""
    rows = []
    for regime in Regime:
        nets = networks_of(results, regime)
        start = [initial_of(results, n.seed) for n in nets]
        for k, layer in enumerate(layers):
            rows.append(
                [
                    str(regime),
                    layer if k < len(layers) - 1 else f"{layer} (classifier)",
                    mean_or_nan([n.weight_changes[k] for n in nets]),
                    mean_or_nan([s.weight_errors[k] for s in start]),
                    mean_or_nan([n.weight_errors[k] for n in nets]),
                    mean_or_nan([s.activation_errors[k] for s in start]),
                    mean_or_nan([n.activation_errors[k] for n in nets]),
                ]
            )
    return Table(
        "Per layer (means over seeds, every network): the relative weight change from initialisation "
        "|W - W0| / |W0|, and the self-alignment errors |W - pi T(W)| / |W| (weights) and the same for the "
        "layer's output on training inputs (activations), at initialisation (W0) and after training (W)",
        [
            "training",
            "layer",
            "weight change",
            "weight error at init.",
            "weight error trained",
            "activation error at init.",
            "activation error trained",
        ],
        rows,
    )


def cycle_table(results: LayerwiseResults) -> Table:
    """Per regime and channel set: the unconstrained self-alignment's cycles."""
    rows = []
    for regime in Regime:
        nets = networks_of(results, regime)
        for k, group in enumerate(nets[0].structure):
            stats = [n.structure[k] for n in nets]
            rows.append(
                [
                    str(regime),
                    group.channels,
                    group.size,
                    mean_or_nan([s.fixed for s in stats]),
                    mean_or_nan([s.pairs for s in stats]),
                    mean_or_nan([s.longer_cycles for s in stats]),
                    mean_or_nan([float(s.involution) for s in stats]),
                ]
            )
    return Table(
        "Cycle structure of the unconstrained self-alignment permutations (means over seeds)",
        ["training", "channels of layer", "size", "fixed", "swapped pairs", "longer cycles", "involution"],
        rows,
    )


def toy_table(results: LayerwiseResults) -> Table:
    """Each constructed invariant network's invariance error and self-alignment errors."""
    return Table(
        f"An invariant network that is not layerwise equivariant ({len(results.toys)} random constructions)",
        [
            "construction",
            "invariance error",
            "self-alignment weight error",
            "self-alignment activation error",
        ],
        [[k, t.invariance, t.weight_error, t.activation_error] for k, t in enumerate(results.toys)],
    )
