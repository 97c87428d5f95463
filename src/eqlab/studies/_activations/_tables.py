"""The report's tables, built from the results: Theorem 1's verdict against the worst error per cell, the
representations' classes and fixes, the networks, and the counterexamples."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from eqlab.runs import Table
from eqlab.studies._activations._config import NETWORK_LABELS, ActivationsConfig, Network
from eqlab.studies._activations._reading import verdict_marks, worst_error
from eqlab.studies._activations._representations import ACTIVATIONS, REPRESENTATIONS
from eqlab.studies._activations._results import ActivationsResults, TableSeed
from eqlab.studies._reading import maximum


def grid_table(tables: Sequence[TableSeed]) -> Table:
    """Theorem 1's verdict and the worst measured error over seeds, per representation and activation."""
    rows = []
    for rep in REPRESENTATIONS:
        row: list[Any] = [rep]
        for act in ACTIVATIONS:
            worst = worst_error(tables, rep, act)
            row.append(
                f"{verdict_marks(tables, rep, act)} {worst:.0e}"
                if worst > 0
                else f"{verdict_marks(tables, rep, act)} 0"
            )
        rows.append(row)
    return Table(
        "Theorem 1's verdict (yes, no, or ? when undecided; a/b where seeds differ) and the worst measured "
        "relative error over seeds, per representation and activation",
        ["representation", *ACTIVATIONS],
        rows,
    )


def class_table(tables: Sequence[TableSeed]) -> Table:
    """Each representation's class, what it admits and its fix, on the first seed."""
    return Table(
        "Representations: Theorem 1 class, what it admits, and the fix the theory allows (first seed)",
        ["representation", "dim", "class", "b", "admits", "fix"],
        [
            [r.representation, r.dim, r.case, r.b or "", r.admissible, r.fix]
            for r in tables[0].representations
        ],
    )


def network_table(config: ActivationsConfig, results: ActivationsResults) -> Table:
    """Each network: trained or not, its sizes, its mean fit and its worst errors over seeds."""
    n = config.rotation_order
    rows = []
    for network in Network:
        units = [u for u in results.networks if u.network is network]
        rows.append(
            [
                NETWORK_LABELS[network],
                "yes" if units[0].trained else "no",
                units[0].parameters,
                units[0].first_layer_weights,
                units[0].last_layer_weights + units[0].last_layer_bias,
                float(np.mean([u.test_mse for u in units])),
                float(np.mean([u.target_power for u in units])),
                maximum(u.cn_error for u in units),
                maximum(u.so2_error for u in units),
                maximum(u.output_spread for u in units),
            ]
        )
    return Table(
        f"Networks on the plane with C{n} rotations (mean test MSE over seeds; worst errors over seeds)",
        [
            "network",
            "trained",
            "parameters",
            "first-layer weights",
            "output-layer weights + bias",
            "test MSE",
            "target mean square",
            f"C{n} error",
            "SO(2) error",
            "output spread",
        ],
        rows,
    )


def counter_table(tables: Sequence[TableSeed]) -> Table:
    """Where f(M x) and M f(x) differ most, for every cell of the first seed the theorem rules out."""
    return Table(
        "Counterexamples (first seed): where f(M x) and M f(x) differ most, for every cell the theorem "
        "rules out",
        ["representation", "activation", "relative error", "matrix (generator index)", "input x"],
        [
            [
                c.representation,
                c.activation,
                c.error,
                c.matrix,
                "(" + ", ".join(f"{v + 0.0:.3g}" for v in c.x[:4]) + (", ...)" if len(c.x) > 4 else ")"),
            ]
            for c in tables[0].cells
            if c.theorem is False
        ],
    )
