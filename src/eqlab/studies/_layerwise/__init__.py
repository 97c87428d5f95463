"""Study ``layerwise``: how trained ReLU CNNs encode a horizontal-flip symmetry (Bökman & Kahl 2023).

VGG-style CNNs with batch norm are trained on digits (or on CIFAR-10 with the VGG-11 widths, from
``--data-dir``), with and without horizontal-flip augmentation, from the same initial weights per seed.
For every network ``W``:

- `self_align` with its flipped self ``T(W)`` (activation matching on training inputs): per-layer
  weight and activation errors, fixed channels and swapped pairs;
- the interpolation barrier (test loss and accuracy, batch norm reset at every point) between ``W``
  and the aligned ``pi(T(W))``, beside the barrier between the two independently trained networks of a
  pair of seeds (after alignment, and without);
- the group average ``(W + pi T(W)) / 2`` with involutions ``pi``: exactly flip-invariant by
  construction; its test accuracy against the original's.

And a small network that is exactly invariant but not layerwise equivariant: hidden units
``relu(+-a.x)`` and ``relu(+-b.x)`` summed with signs give ``(a + b).x``, invariant when ``a + b`` is
mirror-symmetric although no permutation maps the flipped filters onto the original ones.

**Data and seeds.** Seeds ``2k`` and ``2k + 1`` form pair ``k``. On the digits each pair draws its own
train/test split (the stream ``("split", k)``), which both of its networks and both regimes use: the
barrier between the two networks of a pair is measured on one test set, and the flip/plain comparison of
a seed starts from the same initial weights (``("init", seed)``) and batch order (``("batch order",
seed)``) on the same data. CIFAR-10 keeps its own train/test split for every network. Training runs on
``run.device``; the alignment, barriers and group averages run on the CPU.

**Paper preset** (``--set scale=paper``, for a GPU, with ``--data-dir`` holding CIFAR-10): VGG-11 on
CIFAR-10 as in the paper, interpolation at alpha = 0, 0.1, ..., 1 (the reference notes' grid) and 5,000
matching images (as many as the authors' merging notebook matches on). The reference notes did not
find the paper's training recipe (epochs, batch, optimiser), so its 100 epochs of Adam at batch 128 are
a stated choice, not the paper's numbers; 10 seeds give 5 pairs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from eqlab._options import Option
from eqlab.data._digits import digits
from eqlab.data._files import CIFAR_TEST, CIFAR_TRAIN, load_cifar10
from eqlab.data._splits import split_indices
from eqlab.groups._image import flip_width
from eqlab.layerwise import BarrierCurve, Method, align, group_average, self_align
from eqlab.layerwise._align import CycleStructure
from eqlab.layerwise._barrier import evaluate, interpolation_barriers
from eqlab.runs import Figure, Report, RunFolder, Study, Table, Verdict, judge
from eqlab.runs._config import config_to_dict
from eqlab.runs._cost import CostEstimate, seconds_per_step
from eqlab.runs._verdict import mean_interval
from eqlab.studies._plotting import errorbar_plot, save_figure
from eqlab.testing import equivariance_error
from eqlab.train import TrainSettings, train

__all__ = [
    "STUDY",
    "VGG11",
    "DataSource",
    "FirstLayer",
    "LayerwiseConfig",
    "LayerwiseResults",
    "NetworkResult",
    "PairResult",
    "Regime",
    "ToyResult",
    "build_vgg",
    "estimate",
    "invariant_not_layerwise",
    "report",
    "run",
    "verdicts",
]

VGG11 = ((64, 128, 256, 256, 512, 512, 512, 512), (0, 1, 3, 5, 7))
"""VGG-11's convolution widths and the layers followed by a 2x2 max pool (five pools: 32 px to 1 px)."""

FLOOR = 1e-17
"""Invariance errors are floored here before log10 (an exact 0 has no logarithm)."""

MERGE_TOLERANCE = 0.05
"""The accuracy the group average may lose and still count as keeping it (5 points)."""

CIFAR_TRAIN_SIZE = 50_000
"""CIFAR-10's training images (the paper preset's estimate counts steps over them)."""


class Regime(Option):
    """How a network of the study is trained."""

    FLIP = "flip"
    """With horizontal-flip augmentation: each training image is mirrored with probability 1/2."""
    PLAIN = "plain"
    """On the images as they are."""


class DataSource(Option):
    """The images the study trains on (`LayerwiseConfig.data`)."""

    AUTO = "auto"
    """CIFAR-10 when ``--data-dir`` holds any of its python batches (then all must be there), else the
    bundled digits."""
    DIGITS = "digits"
    """scikit-learn's 1,797 bundled digits, resized to ``size`` px; each pair of seeds its own split."""
    CIFAR10 = "cifar10"
    """CIFAR-10 from ``--data-dir`` (``data_batch_1`` ... ``data_batch_5``, ``test_batch``), its own
    train/test split; a missing batch is an error naming it."""


@dataclass(frozen=True)
class LayerwiseConfig:
    """Scale of the ``layerwise`` study (the defaults are sized for its 5-minute budget on 2 cores)."""

    data: str = "auto"
    """A `DataSource`: ``"auto"``, ``"digits"`` or ``"cifar10"``."""
    size: int = 16
    """The side of the digit images."""
    widths: tuple[int, ...] = field(default=(16, 32, 32, 64), metadata={"minimum": 1})
    """The convolution widths of the network trained on the digits."""
    pool_after: tuple[int, ...] = (0, 2)
    """The digit network's layers followed by a 2x2 max pool."""
    cifar_widths: tuple[int, ...] = field(default=VGG11[0], metadata={"minimum": 1})
    """The convolution widths of the network trained on CIFAR-10 (VGG-11's)."""
    cifar_pool_after: tuple[int, ...] = VGG11[1]
    """The CIFAR-10 network's layers followed by a 2x2 max pool (VGG-11's)."""
    seeds: int = 6
    """Networks per regime; seeds ``2k`` and ``2k + 1`` form pair ``k``."""
    train: TrainSettings = field(
        default_factory=lambda: TrainSettings(epochs=12, batch_size=64, lr=3e-3, checkpoint_every=4)
    )
    """How every network is trained (Adam, cosine schedule)."""
    test_fraction: float = 0.3
    """The digits' share held out for testing (CIFAR-10 has its own test set)."""
    alphas: int = field(default=9, metadata={"minimum": 2})
    """Points along each interpolation path, endpoints included."""
    method: str = "activations"
    """The alignment's `eqlab.layerwise.Method`: ``"activations"`` or ``"weights"``."""
    statistics_samples: int = 1000
    """Training images for activation matching and the batch-norm resets."""
    analysis_batch: int = 1000
    """Images per forward pass of the analyses (memory, not results, at the default scale)."""
    toys: int = 3
    """Random constructions of the invariant network that is not layerwise equivariant."""

    def __post_init__(self) -> None:
        DataSource.parse(self.data, "data")
        Method.parse(self.method, "method")
        if not isinstance(self.train, TrainSettings):
            raise TypeError(f"train must be a TrainSettings, got {type(self.train).__name__}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be strictly between 0 and 1, got {self.test_fraction}")


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
    networks: tuple[NetworkResult, ...]
    pairs: tuple[PairResult, ...]
    toys: tuple[ToyResult, ...]


def build_vgg(
    widths: tuple[int, ...], pool_after: tuple[int, ...], in_channels: int = 1, num_classes: int = 10
) -> nn.Sequential:
    """3x3 convolutions (padding 1) with batch norm and ReLU, 2x2 max pools after the listed layers,
    global average pooling and a linear classifier: ``(N, in_channels, H, W) -> (N, num_classes)``."""
    if not widths:
        raise ValueError("widths must hold at least one convolution width, got none")
    if any(not 0 <= p < len(widths) for p in pool_after):
        raise ValueError(
            f"pool_after must name layers 0..{len(widths) - 1} of the {len(widths)} widths {list(widths)}, "
            f"got {list(pool_after)}"
        )
    layers: list[nn.Module] = []
    for index, width in enumerate(widths):
        layers += [nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
        if index in pool_after:
            layers.append(nn.MaxPool2d(2))
        in_channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_channels, num_classes)]
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class _Data:
    """One pair's data: images ``(N, C, H, W)`` in [0, 1] and labels ``(N,)``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True)
class _Source:
    """The images a run draws every pair's data from."""

    name: str
    widths: tuple[int, ...]
    pool_after: tuple[int, ...]
    images: torch.Tensor
    labels: torch.Tensor
    test: tuple[torch.Tensor, torch.Tensor] | None
    """CIFAR-10's own test set; None: each pair splits ``images`` itself."""

    def pair_data(self, config: LayerwiseConfig, run: RunFolder, pair: int) -> _Data:
        if self.test is not None:
            return _Data(self.images, self.labels, *self.test)
        train_idx, test_idx = split_indices(
            len(self.labels), config.test_fraction, run.generator("split", pair)
        )
        return _Data(
            self.images[train_idx], self.labels[train_idx], self.images[test_idx], self.labels[test_idx]
        )


def _holds_cifar(data_dir: str | None) -> bool:
    if not data_dir:
        return False
    return any(
        (Path(data_dir) / sub / name).exists()
        for sub in ("", "cifar-10-batches-py")
        for name in (*CIFAR_TRAIN, *CIFAR_TEST)
    )


def _source(config: LayerwiseConfig, run: RunFolder) -> _Source:
    source = DataSource.parse(config.data, "data")
    if source is DataSource.AUTO:
        source = DataSource.CIFAR10 if _holds_cifar(run.data_dir) else DataSource.DIGITS
    if source is DataSource.CIFAR10:
        if run.data_dir is None:
            raise ValueError(
                "data='cifar10' needs --data-dir: a folder holding CIFAR-10's python batches "
                f"({', '.join((*CIFAR_TRAIN, *CIFAR_TEST))}), directly or in cifar-10-batches-py/"
            )
        images, labels = load_cifar10(run.data_dir, train=True)
        test = load_cifar10(run.data_dir, train=False)
        return _Source("CIFAR-10", config.cifar_widths, config.cifar_pool_after, images, labels, test)
    images, labels = digits(config.size, mode="resize")
    name = f"digits {config.size}x{config.size}"
    return _Source(name, config.widths, config.pool_after, images, labels, None)


def _flip_half(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip[:, None, None, None].to(x.device), flip_width(x), x)


def _trained(
    config: LayerwiseConfig, run: RunFolder, source: _Source, data: _Data, regime: Regime, seed: int
) -> tuple[nn.Sequential, float]:
    """The trained network of ``(regime, seed)`` (resumed from its checkpoint if there is one), on the
    CPU, and its last epoch's training loss."""
    torch.manual_seed(run.seed_for("init", seed))  # the same initial weights in both regimes
    model = build_vgg(source.widths, source.pool_after, in_channels=data.x_train.shape[1]).to(run.device)
    history = train(
        model,
        TensorDataset(data.x_train, data.y_train),
        config.train,
        loss_fn=nn.functional.cross_entropy,
        seed=run.seed_for("batch order", seed),  # the same order (and flips' stream) in both regimes
        run=run,
        unit=f"{regime}-s{seed}",
        augment=_flip_half if regime is Regime.FLIP else None,
        config=config_to_dict(config),
    )
    return model.cpu().eval(), float(history["train_loss"][-1])  # the analyses run on the CPU


def _batches(x: torch.Tensor, y: torch.Tensor | None, size: int) -> list[Any]:
    if y is None:
        return list(x.split(size))
    return list(zip(x.split(size), y.split(size), strict=True))


def _evaluation(config: LayerwiseConfig, data: _Data) -> dict[str, Any]:
    stats = data.x_train[: config.statistics_samples]
    labels = data.y_train[: len(stats)]
    size = config.analysis_batch
    return {"test": _batches(data.x_test, data.y_test, size), "train": _batches(stats, labels, size)}


def _network_unit(
    config: LayerwiseConfig,
    model: nn.Sequential,
    train_loss: float,
    data: _Data,
    regime: Regime,
    seed: int,
    pair: int,
) -> NetworkResult:
    stats = _batches(data.x_train[: config.statistics_samples], None, config.analysis_batch)
    evaluation = _evaluation(config, data)
    result = self_align(model, "hflip", config.method, data=stats)
    curves = interpolation_barriers(model, result.aligned, evaluation, config.alphas, statistics_data=stats)
    constrained = self_align(model, "hflip", config.method, data=stats, involution=True)
    merged = group_average(model, "hflip", constrained.permutations, data=stats)
    test = evaluation["test"]
    flipped = [(flip_width(x), y) for x, y in test]
    loss, accuracy = evaluate(model, test)
    first = _first_conv(model).weight.detach()
    return NetworkResult(
        regime=regime,
        seed=seed,
        pair=pair,
        final_train_loss=train_loss,
        test_loss=loss,
        test_accuracy=accuracy,
        flipped_test_accuracy=evaluate(model, flipped)[1],
        layers=tuple(result.alignment.errors),
        weight_errors=tuple(result.alignment.errors.values()),
        activation_errors=tuple(result.alignment.activation_errors[k] for k in result.alignment.errors),
        structure=tuple(result.structure),
        self_barrier=curves["test"],
        self_barrier_train=curves["train"],
        merged_accuracy=evaluate(merged, test)[1],
        merged_invariance=equivariance_error(merged, data.x_test[:256], flip_width, lambda t: t),
        first_layer=FirstLayer(
            permutation=tuple(int(p) for p in constrained.permutations[0]),
            shape=tuple(first.shape),
            filters=tuple(float(v) for v in first.reshape(-1)),
        ),
    )


def _first_conv(model: nn.Sequential) -> nn.Conv2d:
    layer = model[0]
    if not isinstance(layer, nn.Conv2d):
        raise TypeError(f"model must start with a Conv2d, got {type(layer).__name__}")
    return layer


def _pair_unit(
    config: LayerwiseConfig, a: nn.Module, b: nn.Module, data: _Data, regime: Regime, pair: int
) -> PairResult:
    stats = _batches(data.x_train[: config.statistics_samples], None, config.analysis_batch)
    evaluation = _evaluation(config, data)
    result = align(a, b, config.method, data=stats)
    aligned = interpolation_barriers(a, result.aligned, evaluation, config.alphas, statistics_data=stats)
    naive = interpolation_barriers(a, b, evaluation, config.alphas, statistics_data=stats)
    return PairResult(
        regime=regime,
        pair=pair,
        seeds=(2 * pair, 2 * pair + 1),
        aligned=aligned["test"],
        naive=naive["test"],
        aligned_train=aligned["train"],
        naive_train=naive["train"],
        weight_errors=tuple(result.errors.values()),
    )


def invariant_not_layerwise(size: int = 8, seed: int = 0) -> nn.Sequential:
    """An exactly hflip-invariant network that is not layerwise equivariant (see the module docstring):
    full-image filters ``a, -a, b, -b`` with ``a + b`` mirror-symmetric, ReLU, output weights
    ``(1, -1, 1, -1)``; ``(N, 1, size, size) -> (N, 1)``, float64."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(size, size, generator=gen, dtype=torch.float64)
    r = torch.randn(size, size, generator=gen, dtype=torch.float64)
    b = r + r.flip(-1) - a
    conv = nn.Conv2d(1, 4, size, bias=False).double()
    head = nn.Linear(4, 1, bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(torch.stack([a, -a, b, -b])[:, None])
        head.weight.copy_(torch.tensor([[1.0, -1.0, 1.0, -1.0]]))
    return nn.Sequential(conv, nn.ReLU(), nn.Flatten(), head).eval()


def _toy_unit(run: RunFolder, index: int) -> ToyResult:
    model = invariant_not_layerwise(seed=run.seed_for("toy", index))
    x = torch.randn(256, 1, 8, 8, generator=run.generator("toy inputs", index), dtype=torch.float64)
    weights = self_align(model, "hflip", "weights", data=x)
    acts = self_align(model, "hflip", "activations", data=x)
    return ToyResult(
        invariance=equivariance_error(model, x, flip_width, lambda t: t),
        weight_error=weights.alignment.errors["0"],
        activation_error=acts.alignment.activation_errors["0"],
    )


Trained = dict[tuple[Regime, int], tuple[nn.Sequential, float]]
"""The trained networks of one pair of seeds and their last training losses, by (regime, seed)."""


def _analysed_network(
    config: LayerwiseConfig, trained: Trained, data: _Data, regime: Regime, seed: int
) -> NetworkResult:
    model, loss = trained[(regime, seed)]
    return _network_unit(config, model, loss, data, regime, seed, seed // 2)


def _analysed_pair(
    config: LayerwiseConfig, trained: Trained, data: _Data, regime: Regime, pair: int
) -> PairResult:
    a, b = (trained[(regime, s)][0] for s in (2 * pair, 2 * pair + 1))
    return _pair_unit(config, a, b, data, regime, pair)


def _pair_units(
    config: LayerwiseConfig, run: RunFolder, source: _Source, pair: int
) -> tuple[list[NetworkResult], list[PairResult]]:
    """The units of pair ``pair``: each of its networks in each regime, and the pair in each regime."""
    seeds = [s for s in (2 * pair, 2 * pair + 1) if s < config.seeds]
    jobs = [(regime, seed) for regime in Regime for seed in seeds]
    names = [f"net-{regime}-s{seed}" for regime, seed in jobs]
    names += [f"pair-{regime}-p{pair}" for regime in Regime] if len(seeds) == 2 else []
    data = source.pair_data(config, run, pair)
    # under torchrun every rank trains together: the pair's networks are trained (or loaded from their
    # finished checkpoints) unless all of its units are saved, which during a run needs every rank to have
    # trained them already, so all ranks decide alike
    trained: Trained = {}
    if not all(run.unit_result(name) is not None for name in names):
        trained = {job: _trained(config, run, source, data, *job) for job in jobs}
    networks = [
        run.unit(
            f"net-{regime}-s{seed}",
            functools.partial(_analysed_network, config, trained, data, regime, seed),
            NetworkResult,
        )
        for regime, seed in jobs
    ]
    pairs = [
        run.unit(
            f"pair-{regime}-p{pair}",
            functools.partial(_analysed_pair, config, trained, data, regime, pair),
            PairResult,
        )
        for regime in Regime
        if len(seeds) == 2
    ]
    return networks, pairs


def run(config: LayerwiseConfig, run_dir: RunFolder) -> LayerwiseResults:
    """Train both regimes of every seed, pair by pair, and analyse each network, each pair of seeds and
    the toy network; every analysis is a resumable unit."""
    source = _source(config, run_dir)
    networks: list[NetworkResult] = []
    pairs: list[PairResult] = []
    for pair in range((config.seeds + 1) // 2):
        pair_networks, pair_pairs = _pair_units(config, run_dir, source, pair)
        networks += pair_networks
        pairs += pair_pairs
    toys = [
        run_dir.unit(f"toy-{k}", functools.partial(_toy_unit, run_dir, k), ToyResult)
        for k in range(config.toys)
    ]
    return LayerwiseResults(
        dataset=source.name,
        widths=source.widths,
        pool_after=source.pool_after,
        split_per_pair=source.test is None,
        networks=tuple(networks),
        pairs=tuple(pairs),
        toys=tuple(toys),
    )


def estimate(config: LayerwiseConfig, device: str) -> CostEstimate:
    """The training time of ``config`` on ``device``: two steps of its network timed on a random batch of
    its shape (CIFAR-10's for ``data="cifar10"``), times the steps of its ``2 * seeds`` training jobs.
    The analyses (alignment, barriers, merges) are not included."""
    cifar = DataSource.parse(config.data, "data") is DataSource.CIFAR10
    widths, pools = (
        (config.cifar_widths, config.cifar_pool_after) if cifar else (config.widths, config.pool_after)
    )
    shape = (3, 32, 32) if cifar else (1, config.size, config.size)
    examples = CIFAR_TRAIN_SIZE if cifar else round(len(digits(8)[1]) * (1 - config.test_fraction))
    batch = config.train.batch_size
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(batch, *shape, generator=gen), torch.randint(0, 10, (batch,), generator=gen)
    torch.manual_seed(0)
    model = build_vgg(widths, pools, in_channels=shape[0])
    per_step = seconds_per_step(model, lambda: (x, y), nn.functional.cross_entropy, device, steps=2)
    steps = 2 * config.seeds * config.train.epochs * math.ceil(examples / batch)
    return CostEstimate(
        seconds=per_step * steps,
        steps=steps,
        seconds_per_step=per_step,
        timed_steps=2,
        device=device,
        what=f"the {'CIFAR-10' if cifar else 'digit'} network (widths {list(widths)}) on a batch of "
        f"{batch} x {shape}; the CPU analyses after training are not included",
    )


def _networks(results: LayerwiseResults, regime: Regime) -> list[NetworkResult]:
    return sorted((n for n in results.networks if n.regime is regime), key=lambda n: n.seed)


def _pairs(results: LayerwiseResults, regime: Regime) -> list[PairResult]:
    return sorted((p for p in results.pairs if p.regime is regime), key=lambda p: p.pair)


def _network(results: LayerwiseResults, regime: Regime, seed: int) -> NetworkResult:
    return next(n for n in results.networks if n.regime is regime and n.seed == seed)


def _trained_with(regime: Regime) -> str:
    return f"trained {'with' if regime is Regime.FLIP else 'without'} flip augmentation"


def _floored_log(value: float) -> float:
    return math.log10(max(value, FLOOR))


def verdicts(config: LayerwiseConfig, results: LayerwiseResults) -> list[Verdict]:
    """The study's claims, decided from the results: four findings, then three demonstrations."""
    out = []
    for regime in Regime:
        gaps = [
            p.aligned.loss_barrier
            - sum(_network(results, regime, s).self_barrier.loss_barrier for s in p.seeds) / 2
            for p in _pairs(results, regime)
        ]
        out.append(
            judge(
                f"{_trained_with(regime)}: the test-loss barrier between a network and its aligned flipped "
                "self is lower than between two aligned independent networks (barrier of the pair minus "
                "the mean self-barrier of its two networks > 0)",
                gaps,
            )
        )
    flip, plain = _networks(results, Regime.FLIP), _networks(results, Regime.PLAIN)
    out.append(
        judge(
            "flip augmentation makes networks closer to layerwise equivariant (mean per-layer weight error "
            "of the self-alignment, without minus with augmentation, same initial weights and data, > 0)",
            [
                float(np.mean(p.weight_errors)) - float(np.mean(f.weight_errors))
                for p, f in zip(plain, flip, strict=True)
            ],
        )
    )
    out.append(
        judge(
            "the group average of a flip-trained network and its aligned flipped self keeps its test "
            f"accuracy within {MERGE_TOLERANCE * 100:g} points (merged minus original accuracy "
            f"> -{MERGE_TOLERANCE:g})",
            [n.merged_accuracy - n.test_accuracy for n in flip],
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
            [math.log10(t.weight_error) for t in results.toys],
            threshold=-1,
            kind="demonstration",
        )
    )
    return out


def _mean(values: list[float]) -> float:
    """The mean; NaN when there are no values (one seed: no pair)."""
    return float(np.mean(values)) if values else math.nan


def _summary_table(results: LayerwiseResults) -> Table:
    rows = []
    for regime in Regime:
        nets, pairs = _networks(results, regime), _pairs(results, regime)
        rows.append(
            [
                str(regime),
                _mean([n.test_accuracy for n in nets]),
                _mean([n.flipped_test_accuracy for n in nets]),
                _mean([n.self_barrier.loss_barrier for n in nets]),
                _mean([p.aligned.loss_barrier for p in pairs]),
                _mean([p.naive.loss_barrier for p in pairs]),
                _mean([n.self_barrier_train.loss_barrier for n in nets]),
                _mean([p.aligned_train.loss_barrier for p in pairs]),
                _mean([n.self_barrier.accuracy_barrier for n in nets]),
                _mean([p.aligned.accuracy_barrier for p in pairs]),
                _mean([n.merged_accuracy for n in nets]),
                max(n.merged_invariance for n in nets),
            ]
        )
    return Table(
        "Per regime (means over seeds): accuracy, barriers (test loss and accuracy) and the merged network",
        [
            "training",
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


def _layer_table(results: LayerwiseResults, layers: tuple[str, ...]) -> Table:
    rows = []
    for regime in Regime:
        nets = _networks(results, regime)
        for k, layer in enumerate(layers):
            rows.append(
                [
                    str(regime),
                    layer,
                    _mean([n.weight_errors[k] for n in nets]),
                    _mean([n.activation_errors[k] for n in nets]),
                ]
            )
    return Table(
        "Layerwise equivariance error after self-alignment (mean over seeds): |W - pi T(W)| / |W| and the "
        "same for the layer's output on training inputs",
        ["training", "layer", "weight error", "activation error"],
        rows,
    )


def _cycle_table(results: LayerwiseResults) -> Table:
    rows = []
    for regime in Regime:
        nets = _networks(results, regime)
        for k, group in enumerate(nets[0].structure):
            stats = [n.structure[k] for n in nets]
            rows.append(
                [
                    str(regime),
                    group.channels,
                    group.size,
                    _mean([s.fixed for s in stats]),
                    _mean([s.pairs for s in stats]),
                    _mean([s.longer_cycles for s in stats]),
                    _mean([float(s.involution) for s in stats]),
                ]
            )
    return Table(
        "Cycle structure of the unconstrained self-alignment permutations (means over seeds)",
        ["training", "channels of layer", "size", "fixed", "swapped pairs", "longer cycles", "involution"],
        rows,
    )


def _plot_barriers(results: LayerwiseResults, plots: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110, sharey=True)
    for ax, regime in zip(axes, Regime, strict=True):
        curves = {
            "network vs its aligned flipped self": [n.self_barrier for n in _networks(results, regime)],
            "two networks, aligned": [p.aligned for p in _pairs(results, regime)],
            "two networks, not aligned": [p.naive for p in _pairs(results, regime)],
        }
        for label, group in curves.items():
            if not group:
                continue
            losses = np.array([c.loss for c in group])
            ax.plot(group[0].alphas, losses.mean(0), marker="o", label=f"{label} ({len(group)})")
            ax.fill_between(group[0].alphas, losses.min(0), losses.max(0), alpha=0.15)
        ax.set_title(_trained_with(regime))
        ax.set_xlabel("alpha (0: first network, 1: second)")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("test loss (batch norm reset at each point)")
    axes[0].legend(fontsize=8)
    save_figure(fig, plots / "barriers.png")


def _plot_layer_errors(results: LayerwiseResults, layers: tuple[str, ...], plots: Path) -> None:
    series = {
        f"{regime}, {kind}": {
            k: [getattr(n, f"{kind}_errors")[k] for n in _networks(results, regime)]
            for k in range(len(layers))
        }
        for regime in Regime
        for kind in ("weight", "activation")
    }
    fig, ax = errorbar_plot(
        series,
        xlabel="weighted layer (its index in the network)",
        ylabel="relative error after self-alignment",
    )
    ax.set_xticks(range(len(layers)), layers)
    ax.legend(fontsize=8)
    ax.set_title("Layerwise equivariance error per layer")
    save_figure(fig, plots / "layer_errors.png")


def _plot_filters(unit: NetworkResult, plots: Path) -> tuple[int, int]:
    """The first layer's filters: fixed channels on top, each swapped pair side by side below.
    Returns the numbers of fixed channels and of swapped pairs."""
    weight = torch.tensor(unit.first_layer.filters).reshape(unit.first_layer.shape)  # (C_out, C_in, k, k)
    perm = unit.first_layer.permutation
    fixed = [o for o in range(len(perm)) if perm[o] == o]
    swapped = [(o, perm[o]) for o in range(len(perm)) if perm[o] > o]
    columns = max(len(fixed), 2 * len(swapped), 1)
    fig, axes = plt.subplots(2, columns, figsize=(max(columns * 0.55, 5.5), 2.6), dpi=120, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    scale = float(weight.abs().max())

    def show(ax: Any, channel: int) -> None:
        w = weight[channel]
        if w.shape[0] == 3:  # RGB filters, each scaled to [0, 1]
            w = (w - w.min()) / (w.max() - w.min()).clamp_min(1e-12)
            ax.imshow(w.permute(1, 2, 0).numpy())
        else:
            ax.imshow(w.mean(0).numpy(), cmap="RdBu_r", vmin=-scale, vmax=scale)
        ax.set_title(str(channel), fontsize=6)

    for k, o in enumerate(fixed):
        show(axes[0, k], o)
    for k, (o, q) in enumerate(swapped):
        show(axes[1, 2 * k], o)
        show(axes[1, 2 * k + 1], q)
    fig.suptitle(
        f"first-layer filters ({unit.regime} training, seed {unit.seed})\n"
        f"top: {len(fixed)} fixed channels (mirror-symmetric if layerwise equivariant)\n"
        f"bottom: {len(swapped)} swapped pairs (mirror images of each other if layerwise equivariant)",
        fontsize=7,
    )
    save_figure(fig, plots / "first_layer_filters.png")
    return len(fixed), len(swapped)


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
    nets = _networks(results, regime)
    accuracy = [n.flipped_test_accuracy - n.test_accuracy for n in nets]
    ends = [n.self_barrier.loss[-1] - n.self_barrier.loss[0] for n in nets]
    flipped, upright = _mean([n.flipped_test_accuracy for n in nets]), _mean([n.test_accuracy for n in nets])
    text = (
        f"{_trained_with(regime).capitalize()}, the flipped self T(W) classifies the test images with "
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
    return f"{text}: the interval contains 0, so the two ends of the self path are about equally good."


def _notes(config: LayerwiseConfig, results: LayerwiseResults) -> list[str]:
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
        "(two unrelated tensors of equal norm give about 1.4); the activation errors are the more "
        "forgiving measure.",
        "The merged network uses involution-constrained matching (a maximum-weight matching), which makes "
        "the group average exactly invariant; the cycle-structure table is of the unconstrained matching.",
        "Training runs on the run's device; the alignments, barriers and group averages run on the CPU "
        "(float32), the invariance errors in float64.",
    ]


def report(config: LayerwiseConfig, results: LayerwiseResults, plots: Path) -> Report:
    """Verdicts, tables and plots from saved results."""
    layers = results.networks[0].layers
    _plot_barriers(results, plots)
    _plot_layer_errors(results, layers, plots)
    shown = _networks(results, Regime.FLIP)[0]
    fixed, swapped = _plot_filters(shown, plots)
    toy_table = Table(
        f"An invariant network that is not layerwise equivariant ({len(results.toys)} random constructions)",
        [
            "construction",
            "invariance error",
            "self-alignment weight error",
            "self-alignment activation error",
        ],
        [[k, t.invariance, t.weight_error, t.activation_error] for k, t in enumerate(results.toys)],
    )
    figures = [
        Figure(
            "barriers.png",
            "Test loss along the linear path (mean; band: min to max over seeds or pairs). A barrier is the "
            "curve's height above the straight chord between its ends.",
        ),
        Figure("layer_errors.png", "Per-layer self-alignment errors (mean with 95% interval over seeds)."),
        Figure(
            "first_layer_filters.png",
            f"First-layer filters of the flip-trained network of seed {shown.seed}, sorted by the "
            f"involution-constrained self-alignment: {fixed} fixed channels and {swapped} swapped pairs. "
            "Its first layer's weight error after the unconstrained self-alignment is "
            f"{shown.weight_errors[0]:.3g} "
            "(0: every fixed filter mirror-symmetric and every pair mirror images).",
        ),
    ]
    return Report(
        study="layerwise",
        title="How ReLU networks encode a flip symmetry, layer by layer",
        paper="Bökman & Kahl, Investigating how ReLU-networks encode symmetries (NeurIPS 2023)",
        claim=(
            "Networks trained to be invariant tend to be layerwise equivariant: after aligning channels, a "
            "network and its flipped self are linearly connected with a lower barrier than two independently "
            "trained networks, and averaging them gives an exactly invariant network (a G-CNN) that keeps "
            "most of the accuracy. Invariance does not imply layerwise equivariance in general."
        ),
        measured=(
            f"{config.seeds} VGG-style networks with batch norm per regime on {results.dataset} (widths "
            f"{list(results.widths)}, max pools after layers {list(results.pool_after)}), trained "
            f"({config.train.optimizer}, {config.train.epochs} epochs, batch {config.train.batch_size}) from "
            "the same initial weights with and without flip augmentation, "
            f"{'each pair of seeds on its own split' if results.split_per_pair else 'on one split'}; "
            f"{config.method} matching on {config.statistics_samples} training inputs; barriers on the test "
            f"set at {config.alphas} points with batch-norm statistics reset on those training inputs; "
            f"{len(results.toys)} random constructions of an invariant network that is not layerwise "
            "equivariant."
        ),
        verdicts=verdicts(config, results),
        tables=[_summary_table(results), _layer_table(results, layers), _cycle_table(results), toy_table],
        figures=figures,
        notes=_notes(config, results),
        key_figure="barriers.png",
    )


STUDY = Study(
    name="layerwise",
    summary="Layerwise equivariance (Bökman & Kahl 2023): flip self-alignment, barriers, exact merges",
    config=LayerwiseConfig,
    results=LayerwiseResults,
    run=run,
    report=report,
    budget_minutes=5.0,
    quick={
        "seeds": 2,
        "train.epochs": 2,
        "train.checkpoint_every": 1,
        "widths": (4, 8),
        "pool_after": (0,),
        "alphas": 3,
        "statistics_samples": 64,
    },
    paper={
        "data": "cifar10",
        "seeds": 10,
        "train.epochs": 100,
        "train.batch_size": 128,
        "train.lr": 1e-3,
        "alphas": 11,
        "statistics_samples": 5000,
        "analysis_batch": 500,
    },
    estimate=estimate,
)
