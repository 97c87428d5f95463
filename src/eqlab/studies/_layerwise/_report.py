"""The ``layerwise`` study's report: the claims, tables and plots, with captions and notes built from the
results."""

from __future__ import annotations

from pathlib import Path

from eqlab.runs import Figure, Report
from eqlab.studies._layerwise._claims import verdicts
from eqlab.studies._layerwise._config import TRAINING_RULE, LayerwiseConfig, Regime
from eqlab.studies._layerwise._notes import notes
from eqlab.studies._layerwise._plots import plot_barriers, plot_filters, plot_layer_errors
from eqlab.studies._layerwise._results import LayerwiseResults, networks_of
from eqlab.studies._layerwise._tables import cycle_table, layer_table, summary_table, toy_table


def report(config: LayerwiseConfig, results: LayerwiseResults, plots: Path) -> Report:
    """Verdicts, tables and plots from saved results."""
    layers = results.networks[0].layers
    decided = verdicts(config, results)
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
        Figure(
            "layer_errors.png",
            "Per-layer self-alignment weight error |W - pi T(W)| / |W| (mean with 95% interval over every "
            "seed's network) of the trained networks of each regime and of the same seeds' networks at "
            "initialisation; below the initialisation curve, training made that layer closer to layerwise "
            "equivariant. The last layer is the classifier, which the claims leave out.",
        ),
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
            f"({config.train.optimizer}, lr {config.train.lr:g}, momentum {config.train.momentum:g}, weight "
            f"decay {config.train.weight_decay:g}, {config.train.epochs} epochs, batch "
            f"{config.train.batch_size}; the default's lr and epochs were fixed in advance by the rule: "
            f"{TRAINING_RULE}) from the same initial weights with and without flip augmentation, "
            f"{'each pair of seeds on its own split' if results.split_per_pair else 'on one split'}; "
            f"{config.method} matching on {config.statistics_samples} training inputs; barriers on the test "
            f"set at {config.alphas} points with batch-norm statistics reset on those training inputs; "
            f"{len(results.toys)} random constructions of an invariant network that is not layerwise "
            "equivariant; the same self-alignment of every seed's untrained network as the baseline."
        ),
        verdicts=decided,
        tables=[
            summary_table(results),
            layer_table(results, layers),
            cycle_table(results),
            toy_table(results),
        ],
        figures=figures,
        notes=notes(config, results, decided),
        key_figure="barriers.png",
    )
