"""The ``layerwise`` study's claims, each a four-way verdict decided from the results: five findings, then
three demonstrations. The findings leave out every network at chance level (`above_chance`) and every
pair or comparison that holds one; the demonstrations keep them (they hold by construction)."""

from __future__ import annotations

import math

from eqlab.runs import Verdict, judge
from eqlab.studies._layerwise._config import LayerwiseConfig, Regime, trained_with
from eqlab.studies._layerwise._results import (
    LayerwiseResults,
    above_chance,
    hidden_mean,
    initial_of,
    network_of,
    networks_of,
    pairs_of,
)

FLOOR = 1e-17
"""Invariance errors are floored here before log10 (an exact 0 has no logarithm)."""

MERGE_TOLERANCE = 0.05
"""The accuracy the group average may lose and still count as keeping it (5 points)."""


def _floored_log(value: float) -> float:
    return math.log10(max(value, FLOOR))


def verdicts(config: LayerwiseConfig, results: LayerwiseResults) -> list[Verdict]:
    """The study's claims, decided from the results: five findings, then three demonstrations."""
    out = []
    for regime in Regime:
        gaps = []
        for p in pairs_of(results, regime):
            nets = [network_of(results, regime, s) for s in p.seeds]
            if all(above_chance(results, n) for n in nets):
                gaps.append(p.aligned.loss_barrier - sum(n.self_barrier.loss_barrier for n in nets) / 2)
        out.append(
            judge(
                f"{trained_with(regime)}: the test-loss barrier between a network and its aligned flipped "
                "self is lower than between two aligned independent networks (barrier of the pair minus "
                "the mean self-barrier of its two networks > 0)",
                gaps,
            )
        )
    flip, plain = networks_of(results, Regime.FLIP), networks_of(results, Regime.PLAIN)
    out.append(
        judge(
            "flip augmentation makes networks closer to layerwise equivariant (self-alignment weight error "
            "averaged over the convolutions, without minus with augmentation, same initial weights and "
            "data, > 0)",
            [
                hidden_mean(p.weight_errors) - hidden_mean(f.weight_errors)
                for p, f in zip(plain, flip, strict=True)
                if above_chance(results, p) and above_chance(results, f)
            ],
        )
    )
    out.append(
        judge(
            "trained with flip augmentation, a network is closer to layerwise equivariant than it was at "
            "initialisation (self-alignment weight error averaged over the convolutions, at initialisation "
            "minus trained, same seed, > 0)",
            [
                hidden_mean(initial_of(results, n.seed).weight_errors) - hidden_mean(n.weight_errors)
                for n in flip
                if above_chance(results, n)
            ],
        )
    )
    out.append(
        judge(
            "the group average of a flip-trained network and its aligned flipped self keeps its test "
            f"accuracy within {MERGE_TOLERANCE * 100:g} points (merged minus original accuracy "
            f"> -{MERGE_TOLERANCE:g})",
            [n.merged_accuracy - n.test_accuracy for n in flip if above_chance(results, n)],
            threshold=-MERGE_TOLERANCE,
        )
    )
    out.append(
        judge(
            "the group-averaged network is exactly flip-invariant (log10 float64 relative error, floored at "
            "1e-17, < -12)",
            [_floored_log(n.merged_invariance) for n in flip + plain],
            threshold=-12,
            direction="less",
            kind="demonstration",
            exact="averaging over involution-constrained permutations makes the weights flip-symmetric by "
            "construction, so the error is rounding or exactly 0, which the floor maps to one value",
        )
    )
    out.append(
        judge(
            "the constructed network is exactly flip-invariant (log10 float64 relative error, floored at "
            "1e-17, < -12)",
            [_floored_log(t.invariance) for t in results.toys],
            threshold=-12,
            direction="less",
            kind="demonstration",
            exact="relu(t) - relu(-t) = t exactly, so the network computes (a + b).x with a + b "
            "mirror-symmetric: the error is rounding or exactly 0, which the floor maps to one value",
        )
    )
    out.append(
        judge(
            "an invariant network need not be layerwise equivariant: the constructed network's best "
            "self-alignment (weight matching) leaves a relative weight error above 0.1 (log10 > -1)",
            # floored: an error of exactly 0 (a layerwise equivariant network) contradicts the claim
            [_floored_log(t.weight_error) for t in results.toys],
            threshold=-1,
            kind="demonstration",
        )
    )
    return out
