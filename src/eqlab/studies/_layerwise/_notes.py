"""The ``layerwise`` study's notes: how seeds resample the data, how the flipped self compares with each
network (built from the results), and how the measurements were made."""

from __future__ import annotations

import math

from eqlab.runs._verdict import mean_interval
from eqlab.studies._layerwise._config import LayerwiseConfig, Regime, trained_with
from eqlab.studies._layerwise._results import LayerwiseResults, mean_or_nan, networks_of


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


def notes(config: LayerwiseConfig, results: LayerwiseResults) -> list[str]:
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
