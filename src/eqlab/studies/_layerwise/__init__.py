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
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from eqlab.data._digits import digits
from eqlab.runs import Figure, Report, RunFolder, Study, Table, Verdict, judge
from eqlab.runs._cost import CostEstimate, seconds_per_step
from eqlab.runs._verdict import mean_interval
from eqlab.studies._layerwise._config import (
    PAPER,
    QUICK,
    VGG11,
    DataSource,
    LayerwiseConfig,
    Regime,
    trained_with,
)
from eqlab.studies._layerwise._data import read_source
from eqlab.studies._layerwise._models import build_vgg, invariant_not_layerwise
from eqlab.studies._layerwise._results import (
    FirstLayer,
    LayerwiseResults,
    NetworkResult,
    PairResult,
    ToyResult,
    mean_or_nan,
    network_of,
    networks_of,
    pairs_of,
)
from eqlab.studies._layerwise._units import pair_units, toy_unit
from eqlab.studies._plotting import errorbar_plot, save_figure

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
    "read_source",
    "report",
    "run",
    "verdicts",
]


def run(config: LayerwiseConfig, run_dir: RunFolder) -> LayerwiseResults:
    """Train both regimes of every seed, pair by pair, and analyse each network, each pair of seeds and
    the toy network; every analysis is a resumable unit."""
    source = read_source(config, run_dir)
    networks: list[NetworkResult] = []
    pairs: list[PairResult] = []
    for pair in range((config.seeds + 1) // 2):
        pair_networks, pair_pairs = pair_units(config, run_dir, source, pair)
        networks += pair_networks
        pairs += pair_pairs
    toys = [
        run_dir.unit(f"toy-{k}", functools.partial(toy_unit, run_dir, k), ToyResult)
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


CIFAR_TRAIN_SIZE = 50_000
"""CIFAR-10's training images (the paper preset's estimate counts steps over them)."""


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


FLOOR = 1e-17
"""Invariance errors are floored here before log10 (an exact 0 has no logarithm)."""

MERGE_TOLERANCE = 0.05
"""The accuracy the group average may lose and still count as keeping it (5 points)."""


def _floored_log(value: float) -> float:
    return math.log10(max(value, FLOOR))


def verdicts(config: LayerwiseConfig, results: LayerwiseResults) -> list[Verdict]:
    """The study's claims, decided from the results: four findings, then three demonstrations."""
    out = []
    for regime in Regime:
        gaps = [
            p.aligned.loss_barrier
            - sum(network_of(results, regime, s).self_barrier.loss_barrier for s in p.seeds) / 2
            for p in pairs_of(results, regime)
        ]
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


def summary_table(results: LayerwiseResults) -> Table:
    """Per regime, means over seeds: accuracies, test and training barriers, the merged network."""
    rows = []
    for regime in Regime:
        nets, pairs = networks_of(results, regime), pairs_of(results, regime)
        rows.append(
            [
                str(regime),
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


def layer_table(results: LayerwiseResults, layers: tuple[str, ...]) -> Table:
    """Per regime and weighted layer: the self-alignment's weight and activation errors."""
    rows = []
    for regime in Regime:
        nets = networks_of(results, regime)
        for k, layer in enumerate(layers):
            rows.append(
                [
                    str(regime),
                    layer,
                    mean_or_nan([n.weight_errors[k] for n in nets]),
                    mean_or_nan([n.activation_errors[k] for n in nets]),
                ]
            )
    return Table(
        "Layerwise equivariance error after self-alignment (mean over seeds): |W - pi T(W)| / |W| and the "
        "same for the layer's output on training inputs",
        ["training", "layer", "weight error", "activation error"],
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


def plot_barriers(results: LayerwiseResults, plots: Path) -> None:
    """The test loss along the self and pair paths, one panel per regime: ``barriers.png``."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110, sharey=True)
    for ax, regime in zip(axes, Regime, strict=True):
        curves = {
            "network vs its aligned flipped self": [n.self_barrier for n in networks_of(results, regime)],
            "two networks, aligned": [p.aligned for p in pairs_of(results, regime)],
            "two networks, not aligned": [p.naive for p in pairs_of(results, regime)],
        }
        for label, group in curves.items():
            if not group:
                continue
            losses = np.array([c.loss for c in group])
            ax.plot(group[0].alphas, losses.mean(0), marker="o", label=f"{label} ({len(group)})")
            ax.fill_between(group[0].alphas, losses.min(0), losses.max(0), alpha=0.15)
        ax.set_title(trained_with(regime))
        ax.set_xlabel("alpha (0: first network, 1: second)")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("test loss (batch norm reset at each point)")
    axes[0].legend(fontsize=8)
    save_figure(fig, plots / "barriers.png")


def plot_layer_errors(results: LayerwiseResults, layers: tuple[str, ...], plots: Path) -> None:
    """The self-alignment errors per layer and regime: ``layer_errors.png``."""
    series = {
        f"{regime}, {kind}": {
            k: [getattr(n, f"{kind}_errors")[k] for n in networks_of(results, regime)]
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


def plot_filters(unit: NetworkResult, plots: Path) -> tuple[int, int]:
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
    return f"{text}: the interval contains 0, so the two ends of the self path are about equally good."


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
    plot_barriers(results, plots)
    plot_layer_errors(results, layers, plots)
    shown = networks_of(results, Regime.FLIP)[0]
    fixed, swapped = plot_filters(shown, plots)
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
        tables=[
            summary_table(results),
            layer_table(results, layers),
            cycle_table(results),
            toy_table(results),
        ],
        figures=figures,
        notes=notes(config, results),
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
    quick=QUICK,
    paper=PAPER,
    estimate=estimate,
)
