"""`report`: the ``activations`` study's report (verdicts, tables, plots and notes) from saved results."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eqlab.runs import Figure, Report
from eqlab.studies._activations._claims import network_verdicts, table_verdicts
from eqlab.studies._activations._config import ActivationsConfig, Network
from eqlab.studies._activations._notes import notes
from eqlab.studies._activations._plots import heatmap, network_plots
from eqlab.studies._activations._reading import disagrees, not_constant, per_seed, seed_count
from eqlab.studies._activations._representations import ACTIVATIONS, REPRESENTATIONS
from eqlab.studies._activations._results import ActivationsResults
from eqlab.studies._activations._tables import class_table, counter_table, grid_table, network_table
from eqlab.studies._reading import maximum, minimum


def report(config: ActivationsConfig, results: ActivationsResults, plots: Path) -> Report:
    """Verdicts, tables and plots from saved results."""
    tables = results.tables
    n = config.rotation_order
    verdicts = table_verdicts(tables) + network_verdicts(config, results)
    heatmap(tables, plots / "verdict_vs_error.png")
    network_plots(config, results, plots)
    disagreeing = sum(disagrees(c) for t in tables for c in t.cells)
    worst = {
        network: maximum(u.cn_error for u in results.networks if u.network is network)
        for network in (Network.ROTATION, Network.REGULAR)
    }
    moving = not_constant(results, Network.REGULAR)
    least_so2 = f"{minimum(u.so2_error for u in moving):.1e}" if moving else "none (every seed constant)"
    trivial_ratio = float(
        np.mean([u.test_mse / u.target_power for u in results.networks if u.network is Network.TRIVIAL])
    )
    trivial_spread = maximum(per_seed(results, Network.TRIVIAL, lambda u: u.output_spread))
    return Report(
        study="activations",
        title="Which pointwise activations keep a network equivariant",
        paper="Pacini, Dong, Lepri & Santin, A Characterization Theorem for Equivariant Networks with "
        "Point-wise Activations (ICLR 2024)",
        claim=(
            "A pointwise activation commutes with a representation exactly when the pair falls in one of the "
            "classes of Theorem 1 (any continuous function with permutations, odd functions with signed "
            "permutations, semilinear or b-multiplicative functions with positive monomials, affine "
            "functions with unit-row-sum matrices, linear otherwise); in consequence, rotation-equivariant "
            "networks with pointwise activations on finite-dimensional representations can only be "
            "invariant (Corollary 3), while regular representations of finite rotation groups, being "
            "permutations, work."
        ),
        measured=(
            "Theorem 1's verdict as eqlab decides it and the measured float64 error for "
            f"{len(REPRESENTATIONS)} representations x {len(ACTIVATIONS)} activations on each of "
            f"{len(tables)} seeds, every seed with its own random representations and inputs; and four "
            f"networks on the plane with C{n} rotations, three of them fitted to an equivariant vector field "
            f"on each seed's own points (the networks of a seed share them): their C{n} and SO(2) "
            "equivariance errors, output spread and test MSE."
        ),
        verdicts=verdicts,
        tables=[
            grid_table(tables),
            class_table(tables),
            network_table(config, results),
            counter_table(tables),
        ],
        figures=[
            Figure(
                "verdict_vs_error.png",
                "Each cell: the theorem's verdict (yes/no) over the worst measured error (green: rounding "
                "level, red: order one). Every 'yes' should be green and every 'no' red; a box marks a cell "
                f"where theorem, check and measurement part ways: {disagreeing} here.",
            ),
            Figure(
                "network_errors.png",
                f"Equivariance errors of the four networks, one dot per seed: C{n} rotations (left) and "
                f"random rotation angles (right). The dotted line is 1e-12. Largest C{n} error: "
                f"{worst[Network.ROTATION]:.1e} with rotating features, {worst[Network.REGULAR]:.1e} with "
                f"regular ones; smallest SO(2) error of the regular network where not constant: {least_so2} "
                f"({len(moving)} of {seed_count(results, Network.REGULAR)} seeds).",
            ),
            Figure(
                "network_mse.png",
                "Test MSE per network over the target's mean square on the same seed, one dot per seed; the "
                "dotted line, 1, is the error of predicting 0. The trivial-feature network's ratio is "
                f"{trivial_ratio:.3g} on average, and its output changes by at most {trivial_spread:.1e}.",
            ),
        ],
        notes=notes(config, results),
        key_figure="verdict_vs_error.png",
    )
