"""The ``layerwise`` study's typed results (one `NetworkResult` per trained network, one `InitialResult` per
seed's untrained network, one `PairResult` per pair of seeds and regime, one `ToyResult` per constructed
network), the lookups over them and the chance-level guard."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from eqlab.layerwise import BarrierCurve
from eqlab.layerwise._align import CycleStructure
from eqlab.studies._layerwise._config import Regime


@dataclass(frozen=True)
class FirstLayer:
    """A network's first-layer filters and their involution-constrained self-alignment."""

    permutation: tuple[int, ...]
    """The channel permutation ``pi`` (``pi^2 = id``) aligning ``T(W)``'s first layer to ``W``'s."""
    shape: tuple[int, ...]
    """The filters' shape ``(C_out, C_in, k, k)``."""
    filters: tuple[float, ...]
    """The filters, flattened in row-major order."""


@dataclass(frozen=True)
class NetworkResult:
    """One trained network and its flipped self."""

    regime: Regime
    seed: int
    pair: int
    """The pair of seeds ``(2 pair, 2 pair + 1)`` it belongs to (and whose data it trained on)."""
    final_train_loss: float
    test_loss: float
    test_accuracy: float
    flipped_test_accuracy: float
    """The accuracy on the mirrored test images: that of ``T(W)`` on the test images."""
    layers: tuple[str, ...]
    """The weighted layers (module names, in forward order) of the per-layer errors below."""
    weight_errors: tuple[float, ...]
    """Per layer: ``|W - pi T(W)| / |W|`` after the unconstrained self-alignment."""
    activation_errors: tuple[float, ...]
    """Per layer: the same for the layer's output on the matching inputs."""
    weight_changes: tuple[float, ...]
    """Per layer: ``|W - W0| / |W0|``, how far training moved the layer from its initial weights ``W0``
    (weights and bias together)."""
    structure: tuple[CycleStructure, ...]
    """The unconstrained self-alignment's permutations: cycles per channel set."""
    self_barrier: BarrierCurve
    """Test loss and accuracy from ``W`` (alpha 0) to ``pi T(W)`` (alpha 1)."""
    self_barrier_train: BarrierCurve
    """The same on the matching (training) inputs."""
    merged_accuracy: float
    """Test accuracy of the group average with the involution-constrained alignment."""
    merged_invariance: float
    """Its float64 relative flip-invariance error on test images."""
    first_layer: FirstLayer


@dataclass(frozen=True)
class InitialResult:
    """One seed's network at initialisation (both regimes start from it) and its flipped self: the
    baseline of the trained networks' self-alignment errors."""

    seed: int
    pair: int
    weight_errors: tuple[float, ...]
    """Per layer (`NetworkResult.layers`): ``|W0 - pi T(W0)| / |W0|`` after the same unconstrained
    self-alignment as the trained networks'."""
    activation_errors: tuple[float, ...]
    """Per layer: the same for the layer's output on the matching inputs (eval mode, the initial
    batch-norm statistics)."""


@dataclass(frozen=True)
class PairResult:
    """The two independently trained networks of one pair of seeds, in one regime."""

    regime: Regime
    pair: int
    seeds: tuple[int, int]
    aligned: BarrierCurve
    """Test loss and accuracy from the first network to the second aligned to it."""
    naive: BarrierCurve
    """The same without alignment."""
    aligned_train: BarrierCurve
    naive_train: BarrierCurve
    weight_errors: tuple[float, ...]
    """Per layer (`NetworkResult.layers`): ``|W_1 - pi W_2| / |W_1|`` after alignment."""


@dataclass(frozen=True)
class ToyResult:
    """One random construction of the invariant network that is not layerwise equivariant."""

    invariance: float
    """Float64 relative flip-invariance error on random inputs."""
    weight_error: float
    """Relative weight error of the best self-alignment by weight matching."""
    activation_error: float
    """Relative error of the hidden layer's output after activation matching."""


@dataclass(frozen=True)
class LayerwiseResults:
    """Everything a ``layerwise`` run measured."""

    dataset: str
    """The data, in words."""
    widths: tuple[int, ...]
    pool_after: tuple[int, ...]
    split_per_pair: bool
    """Whether each pair of seeds drew its own train/test split (digits) or all share one (CIFAR-10)."""
    test_size: int
    """Test images per network (the chance-level guard's sample size)."""
    classes: int
    networks: tuple[NetworkResult, ...]
    initial: tuple[InitialResult, ...]
    pairs: tuple[PairResult, ...]
    toys: tuple[ToyResult, ...]


def networks_of(results: LayerwiseResults, regime: Regime) -> list[NetworkResult]:
    """The networks of ``regime``, by seed."""
    return sorted((n for n in results.networks if n.regime is regime), key=lambda n: n.seed)


def pairs_of(results: LayerwiseResults, regime: Regime) -> list[PairResult]:
    """The pairs of ``regime``, by pair index."""
    return sorted((p for p in results.pairs if p.regime is regime), key=lambda p: p.pair)


def network_of(results: LayerwiseResults, regime: Regime, seed: int) -> NetworkResult:
    """The network of ``regime`` and ``seed``."""
    return next(n for n in results.networks if n.regime is regime and n.seed == seed)


def initial_of(results: LayerwiseResults, seed: int) -> InitialResult:
    """The untrained network of ``seed``."""
    return next(n for n in results.initial if n.seed == seed)


CHANCE_SIGMAS = 3.0
"""A network is at chance level when its test accuracy is at most this many binomial standard deviations
above chance (``1 / classes``) on the run's test set."""


def chance_bound(results: LayerwiseResults) -> float:
    """The accuracy at or below which a network counts as at chance level: ``p + 3 sqrt(p (1 - p) / n)``,
    ``p = 1 / classes``, ``n`` the test images (0.140 for 10 classes and 540 images)."""
    p = 1.0 / results.classes
    return p + CHANCE_SIGMAS * math.sqrt(p * (1 - p) / results.test_size)


def above_chance(results: LayerwiseResults, network: NetworkResult) -> bool:
    """Whether ``network`` classifies better than chance by the guard's margin (`chance_bound`); a NaN
    accuracy is not."""
    return network.test_accuracy > chance_bound(results)


def mean_or_nan(values: list[float]) -> float:
    """The mean; NaN when there are no values (one seed: no pair)."""
    return float(np.mean(values)) if values else math.nan


def hidden_mean(errors: tuple[float, ...]) -> float:
    """The mean over the convolutions, the last layer (the linear classifier after global average pooling)
    left out: the flip leaves its weights as they are, so its error after alignment is 0 exactly when the
    last convolution's permutation is the identity and says nothing else about its weights."""
    return mean_or_nan(list(errors[:-1]))
