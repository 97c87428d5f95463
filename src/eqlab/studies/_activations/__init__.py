"""Study ``activations``: the characterization theorem, decided and measured (Pacini et al. 2024).

Two parts.

1. **The table.** For representations of every class of Theorem 1 (permutation, signed permutation,
   positive monomial with dense and with discrete scales, signed 2-monomial, unit-row-sum, general)
   and the standard activations plus two made for the theorem (a log-periodic odd function that is
   2-multiplicative but not semilinear, and the affine ``x + 1``), the theorem's verdict as eqlab
   decides it (from the class of the matrices and the probed properties of the activation, measuring
   nothing) beside the float64 error measured on fresh random and adversarial inputs, per seed (the
   random representations are redrawn per seed too); also `eqlab.activations.check`'s verdict, which
   weighs its own measurement. Beside each representation: the fix the theory allows (a positive
   rescaling or a permutation basis), if any.
2. **Rotations (Corollary 3).** Networks of `RepLinear` layers with ReLU, from the plane to the plane
   with C_n acting by rotations, trained on an equivariant vector field. Hidden features that rotate
   (copies of the 2-d rotation) and the regular representation of C_n (a permutation representation)
   are trained; trivial hidden features, the only ones a pointwise activation allows for the whole
   rotation group SO(2), make the zero map by construction (the input's rotation has no invariant
   linear functional, the output's fixes no vector), so that network is built and measured, not
   trained.

The paper is theoretical: it has no experimental scale. Its ``paper`` preset (``--set scale=paper``) is
the larger sweep this study judges meaningful: 10 seeds, rotations of order 16 (finer than the default
8), 10,000 training points and 200 epochs. The hidden width stays at 32 features (2 copies of the
regular representation of C16): `RepLinear` finds its weight basis by an SVD of an ``(n^2, n^2)``
constraint for ``n`` features, which at 64 features already takes about a minute per layer on CPU.
`estimate` times a few training steps of the paper's networks and extrapolates; the table and the
bases of the layers are not counted.
"""

from __future__ import annotations

import functools

from eqlab.runs import RunFolder, Study
from eqlab.studies._activations._claims import network_verdicts, table_verdicts
from eqlab.studies._activations._config import PAPER, QUICK, ActivationsConfig, Network
from eqlab.studies._activations._estimate import estimate
from eqlab.studies._activations._networks import build_network, network_unit, points
from eqlab.studies._activations._notes import network_notes
from eqlab.studies._activations._report import report
from eqlab.studies._activations._representations import ACTIVATIONS, REPRESENTATIONS
from eqlab.studies._activations._results import (
    ActivationsResults,
    Cell,
    NetworkSeed,
    RepresentationRow,
    TableSeed,
)
from eqlab.studies._activations._table import table_unit
from eqlab.studies._activations._threads import one_thread

__all__ = [
    "ACTIVATIONS",
    "REPRESENTATIONS",
    "STUDY",
    "ActivationsConfig",
    "ActivationsResults",
    "Cell",
    "Network",
    "NetworkSeed",
    "RepresentationRow",
    "TableSeed",
    "build_network",
    "estimate",
    "network_notes",
    "network_verdicts",
    "one_thread",
    "points",
    "report",
    "run",
    "table_unit",
    "table_verdicts",
]


def run(config: ActivationsConfig, run_dir: RunFolder) -> ActivationsResults:
    """The table once per seed, then every network per seed; one resumable unit each (on one CPU thread)."""
    with one_thread():
        return _run(config, run_dir)


def _run(config: ActivationsConfig, run_dir: RunFolder) -> ActivationsResults:
    tables, networks = [], []
    for seed_index in range(config.seeds):
        table = functools.partial(
            table_unit,
            seed_index,
            run_dir.rng("representations", seed_index),
            run_dir.seed_for("inputs", seed_index),
        )
        tables.append(run_dir.unit(f"table-s{seed_index}", table, TableSeed))
        for network in Network:
            unit = functools.partial(network_unit, config, run_dir, network, seed_index)
            networks.append(run_dir.unit(f"{network}-s{seed_index}", unit, NetworkSeed))
    return ActivationsResults(tuple(tables), tuple(networks))


STUDY = Study(
    name="activations",
    summary="Pointwise activations (Pacini et al. 2024): theorem vs measurement, and rotation networks",
    config=ActivationsConfig,
    results=ActivationsResults,
    run=run,
    report=report,
    budget_minutes=1.0,
    quick=QUICK,
    paper=PAPER,
    estimate=estimate,
)
