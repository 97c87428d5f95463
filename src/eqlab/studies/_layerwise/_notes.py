"""The ``layerwise`` study's notes: the paper's claim beside this run's finding, the chance-level guard, the
training against its design rule, how seeds resample the data, how the flipped self compares with each
network (all built from the results), and how the measurements were made."""

from __future__ import annotations

import math

from eqlab.runs import Verdict
from eqlab.runs._verdict import mean_interval
from eqlab.studies._layerwise._config import DESIGNED, TARGET_LOSS, LayerwiseConfig, Regime, trained_with
from eqlab.studies._layerwise._results import (
    LayerwiseResults,
    above_chance,
    chance_bound,
    hidden_mean,
    initial_of,
    mean_or_nan,
    networks_of,
)


def _interval_text(values: list[float]) -> str:
    mean, low, high = mean_interval(values)
    if math.isnan(low):
        return f"{mean:+.3g} ({len(values)} network(s), no interval)"
    return f"{mean:+.3g}, 95% interval [{low:+.3g}, {high:+.3g}] over {len(values)} networks"


def _side(values: list[float]) -> int | None:
    """-1 or +1 when the 95% interval of the mean lies below or above 0, 0 when it contains 0, None
    when there is no interval (fewer than two values)."""
    _, low, high = mean_interval(values)
    if math.isnan(low):
        return None
    return -1 if high < 0 else 1 if low > 0 else 0


def _flipped_self_note(results: LayerwiseResults, regime: Regime) -> str:
    """How the flipped self compares with the network, as classifier and as the far end of the self path,
    from the results."""
    nets = networks_of(results, regime)
    accuracy = [n.flipped_test_accuracy - n.test_accuracy for n in nets]
    ends = [n.self_barrier.loss[-1] - n.self_barrier.loss[0] for n in nets]
    flipped, upright = (
        mean_or_nan([n.flipped_test_accuracy for n in nets]),
        mean_or_nan([n.test_accuracy for n in nets]),
    )
    text = (
        f"{trained_with(regime).capitalize()}, the flipped self T(W) classifies the test images with "
        f"accuracy {flipped:.3f} against {upright:.3f} for W (difference {_interval_text(accuracy)}); along "
        f"the self path the test loss at pi T(W) minus that at W is {_interval_text(ends)}"
    )
    side = _side(ends)
    if side is None:
        return f"{text}: too few networks to say whether the two ends of the self path differ."
    if side:
        return (
            f"{text}: the ends differ ({'higher' if side > 0 else 'lower'} at pi T(W)), so the chord the "
            "self-barrier is measured against is tilted, and a small self-barrier says less about how "
            "easily W merges with its flipped self."
        )
    return f"{text}: the interval contains 0: this run cannot tell the two ends apart."


def _measures_note(results: LayerwiseResults) -> str:
    """How the self-alignment's activation errors compare with its weight errors, layer by layer (the
    means over networks of the layer table)."""
    pairs = [
        (mean_or_nan([n.weight_errors[k] for n in nets]), mean_or_nan([n.activation_errors[k] for n in nets]))
        for nets in (networks_of(results, regime) for regime in Regime)
        if nets
        for k in range(len(nets[0].weight_errors))
    ]
    measured = [(w, a) for w, a in pairs if not (math.isnan(w) or math.isnan(a))]
    lower = sum(a < w for w, a in measured)
    unmeasured = len(pairs) - len(measured)
    return (
        f"The mean activation error is below the mean weight error in {lower} of the {len(measured)} "
        "(training, layer) rows of the layer table"
        + (f" ({unmeasured} more rows hold NaN)." if unmeasured else ".")
    )


def _errors_from_start(results: LayerwiseResults, regime: Regime) -> tuple[int, float, float]:
    """Over the networks of ``regime`` above chance level: their number and the means of the convolutions'
    mean self-alignment weight error at initialisation and after training."""
    counted = [n for n in networks_of(results, regime) if above_chance(results, n)]
    start = mean_or_nan([hidden_mean(initial_of(results, n.seed).weight_errors) for n in counted])
    return len(counted), start, mean_or_nan([hidden_mean(n.weight_errors) for n in counted])


def _finding_note(results: LayerwiseResults, decided: list[Verdict]) -> str:
    """The paper's central claim beside this run's verdicts on it and on the initialisation baseline."""
    gap, training = decided[0], decided[3]
    flip, plain = (_errors_from_start(results, regime) for regime in Regime)
    return (
        "The paper's central claim for flip-trained networks: aligned to its flipped self, a network is "
        "linearly connected to it with a lower barrier than to an independently trained network, because "
        "training makes it close to layerwise equivariant. This run: the pair barrier minus the self-barrier "
        f"is {gap.mean:+.3g}, 95% interval [{gap.low:+.3g}, {gap.high:+.3g}] over {len(gap.values)} pairs "
        f"({gap.status}); the convolutions' mean self-alignment weight error of the {flip[0]} flip-trained "
        f"networks above chance level is {flip[1]:.3g} at initialisation and {flip[2]:.3g} after training "
        f"(the claim that training lowers it: {training.status}; {_per_layer(results)}); for the {plain[0]} "
        f"networks trained without flips (not judged, for comparison) it is {plain[1]:.3g} and "
        f"{plain[2]:.3g}."
    )


def _per_layer(results: LayerwiseResults) -> str:
    """In how many convolutions the flip-trained networks' weight error lies below its initial value, by
    the 95% interval of the per-seed differences (not judged one by one)."""
    counted = [n for n in networks_of(results, Regime.FLIP) if above_chance(results, n)]
    if not counted:
        return "no network to compare layer by layer"
    convolutions = len(counted[0].weight_errors) - 1
    sides = [
        _side([initial_of(results, n.seed).weight_errors[k] - n.weight_errors[k] for n in counted])
        for k in range(convolutions)
    ]
    return (
        f"layer by layer, the 95% interval of initial minus trained error lies above 0 in "
        f"{sides.count(1)}, below 0 in {sides.count(-1)} of the {convolutions} convolutions"
    )


def _chance_note(results: LayerwiseResults) -> str:
    """Which networks the chance-level guard leaves out of the findings."""
    bound = chance_bound(results)
    rule = (
        f"A network at chance level (test accuracy at most {bound:.3f}: chance 1/{results.classes} plus 3 "
        f"binomial standard deviations on {results.test_size} test images) says nothing about how it "
        "encodes the flip"
    )
    low = [n for n in results.networks if not above_chance(results, n)]
    if not low:
        return f"{rule}; no network of this run was at that level."
    names = ", ".join(f"{n.regime} seed {n.seed} ({n.test_accuracy:.3f})" for n in low)
    return (
        f"{rule}: {len(low)} of {len(results.networks)} networks were at that level ({names}); the findings "
        "leave them out, with the pairs and flip/plain comparisons that hold them. The tables and plots "
        "show every network."
    )


def _training_note(config: LayerwiseConfig, results: LayerwiseResults) -> str:
    """The training against the design rule's choice, and the networks' last-epoch losses against its
    target."""
    train = config.train
    chosen = train == DESIGNED
    how = (
        "the design rule's choice"
        if chosen
        else f"not the design rule's choice (lr {DESIGNED.lr:g}, {DESIGNED.epochs} epochs, SGD)"
    )
    losses = [n.final_train_loss for n in results.networks]
    below = sum(v < TARGET_LOSS for v in losses)
    return (
        f"Training ({train.optimizer}, lr {train.lr:g}, momentum {train.momentum:g}, weight decay "
        f"{train.weight_decay:g}, {train.schedule} schedule, {train.epochs} epochs) is {how}. The last-epoch "
        f"training loss of this run's networks is {min(losses):.3g} to {max(losses):.3g}: {below} of "
        f"{len(losses)} below the rule's target {TARGET_LOSS:g} (flip-trained losses are on flipped and "
        "upright images)."
    )


def _classifier_note(results: LayerwiseResults) -> str:
    """Why the classifier is left out of every average over layers, with how often its error is 0."""
    counts = ", ".join(
        f"{sum(n.weight_errors[-1] == 0.0 for n in networks_of(results, regime))} of "
        f"{len(networks_of(results, regime))} {regime}"
        for regime in Regime
    )
    return (
        "Every average over layers leaves out the classifier (the last layer, after global average "
        "pooling): the flip leaves its weights as they are, so its weight error after alignment is 0 exactly "
        "when the last convolution's permutation is the identity, and says nothing else about its weights. "
        f"Its error is exactly 0 in {counts} networks; the layer table shows it."
    )


def notes(config: LayerwiseConfig, results: LayerwiseResults, decided: list[Verdict]) -> list[str]:
    """The report's notes, in order."""
    if results.split_per_pair:
        data = (
            "Each pair of seeds (0, 1), (2, 3), ... draws its own train/test split of the digits; both "
            "networks of a pair and both regimes of a seed use it, so the pair barrier is measured on one "
            "test set and the flip/plain comparison of a seed shares its initial weights, batch order and "
            "data. Different pairs have different splits."
        )
    else:
        data = (
            f"Every network uses {results.dataset}'s own train/test split: seeds resample the initial "
            "weights and the batch order only. Both regimes of a seed share their initial weights and batch "
            "order."
        )
    return [
        data,
        _finding_note(results, decided),
        _chance_note(results),
        _training_note(config, results),
        _classifier_note(results),
        "The untrained baseline of a seed is its initial network (both regimes start from it), self-aligned "
        "by the same matching on the same inputs; its batch norm uses its initial statistics.",
        "The independent-network barrier of a pair is compared with the mean self-barrier of its two "
        "networks. Barrier endpoints get the same batch-norm reset as the interior points.",
        *(_flipped_self_note(results, regime) for regime in Regime),
        "Weight errors of the self-alignment near 1 mean the weights are far from layerwise equivariant "
        f"(two unrelated tensors of equal norm give about 1.4). {_measures_note(results)}",
        "The merged network uses involution-constrained matching (a maximum-weight matching), which makes "
        "the group average exactly invariant; the cycle-structure table is of the unconstrained matching.",
        "Training runs on the run's device; the alignments, barriers and group averages run on the CPU "
        "(float32), the invariance errors in float64.",
    ]
