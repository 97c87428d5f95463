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
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from eqlab.runs import Figure, Kind, Report, RunFolder, Study, Table, Verdict, judge
from eqlab.studies._activations._config import (
    ANGLES,
    NETWORK_LABELS,
    PAPER,
    QUICK,
    ActivationsConfig,
    Network,
)
from eqlab.studies._activations._estimate import estimate
from eqlab.studies._activations._networks import build_network, network_unit, points
from eqlab.studies._activations._representations import ACTIVATIONS, RANDOM, REPRESENTATIONS
from eqlab.studies._activations._results import (
    ActivationsResults,
    Cell,
    NetworkSeed,
    RepresentationRow,
    TableSeed,
)
from eqlab.studies._activations._table import table_unit
from eqlab.studies._activations._threads import one_thread
from eqlab.studies._plotting import save_figure

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
    "one_thread",
    "points",
    "report",
    "run",
    "table_unit",
]


ERROR_FLOOR = 1e-17
"""Errors are floored here before log10: exact computations may give 0."""
SPREAD_FLOOR = 1e-30
"""Output spreads are floored here before log10 (the zero map's spread is exactly 0)."""


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


# ---------------------------------------------------------------------------------------------------
# the report


def _log10(value: float, floor: float) -> float:
    return math.log10(max(value, floor))


def _mark(equivariant: bool | None) -> str:
    """A verdict in one word: yes, no, or ? when undecided."""
    return {True: "yes", False: "no", None: "?"}[equivariant]


def _disagrees(cell: Cell) -> bool:
    """Whether the theorem and the measurement (or `check`) part ways on a cell, or the theorem cannot
    decide."""
    return (
        cell.theorem is None
        or (cell.theorem is True and cell.error >= 1e-12)
        or (cell.theorem is False and cell.error <= 1e-6)
        or cell.check is not cell.theorem
    )


def _verdict_marks(tables: Sequence[TableSeed], rep: str, act: str) -> str:
    marks = {
        _mark(c.theorem) for t in tables for c in t.cells if c.representation == rep and c.activation == act
    }
    return "/".join(sorted(marks))


def _worst(tables: Sequence[TableSeed], rep: str, act: str) -> float:
    return max(c.error for t in tables for c in t.cells if c.representation == rep and c.activation == act)


def _heatmap(tables: Sequence[TableSeed], path: Path) -> None:
    reps, acts = list(REPRESENTATIONS), list(ACTIVATIONS)
    worst = np.array([[_worst(tables, r, a) for a in acts] for r in reps])
    logs = np.log10(np.clip(worst, ERROR_FLOOR, 10.0))
    fig, ax = plt.subplots(figsize=(10.5, 5.6), dpi=110)
    image = ax.imshow(logs, cmap="RdYlGn_r", vmin=-17, vmax=1, aspect="auto")
    bad = {(c.representation, c.activation) for t in tables for c in t.cells if _disagrees(c)}
    for i, rep in enumerate(reps):
        for j, act in enumerate(acts):
            ax.text(j, i, _verdict_marks(tables, rep, act), ha="center", va="center", fontsize=7)
            if (rep, act) in bad:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2))
    ax.set_xticks(range(len(acts)), acts, rotation=45, ha="right")
    ax.set_yticks(range(len(reps)), reps)
    fig.colorbar(image, ax=ax, label="log10 worst measured error (float64, floored at 1e-17)")
    ax.set_title("Theorem 1's verdict (text) against the measured error (colour), worst over seeds")
    save_figure(fig, path)


def _values(
    results: ActivationsResults, network: Network, read: Callable[[NetworkSeed], float]
) -> list[float]:
    """One value per seed, in seed order."""
    units = sorted((u for u in results.networks if u.network is network), key=lambda u: u.seed_index)
    return [read(u) for u in units]


def _moving(results: ActivationsResults, network: Network) -> list[NetworkSeed]:
    """The seeds of ``network`` whose output is not constant, in seed order."""
    units = sorted((u for u in results.networks if u.network is network), key=lambda u: u.seed_index)
    return [u for u in units if u.output_spread > 0]


def _count(results: ActivationsResults, network: Network) -> int:
    return sum(u.network is network for u in results.networks)


def _table_verdicts(tables: Sequence[TableSeed]) -> list[Verdict]:
    # Findings, not demonstrations: the theorem's verdict comes from the class of the matrices and the
    # probed properties of the activation alone (`_decide`), the error from evaluating f(M x) and M f(x)
    # on fresh inputs; nothing ties the two together, so a wrong classification (dense or discrete
    # scales, a unit-row-sum test), a wrong property probe or a wrong reading of the theorem shows up as
    # a disagreement. Theorem 1 itself is proven: what these claims test is eqlab's reading of it,
    # against measurement, on the representations and activations of this table.
    worst_cells = [max((c for c in t.cells if c.theorem is True), key=lambda c: c.error) for t in tables]
    true_worst = [_log10(c.error, ERROR_FLOOR) for c in worst_cells]
    # The worst cell is a maximum over fixed and random inputs. When every seed finds it in the same cell
    # at the same input (the adversarial basis vectors, fixed, of a representation no seed redraws), each
    # seed recomputes the same float64 number: identical values are then one deterministic computation
    # repeated, whose value is known exactly, not a chance agreement of samples. Only then is it said.
    places = {(c.representation, c.activation, c.matrix, c.x) for c in worst_cells}
    fixed = len(places) == 1 and REPRESENTATIONS[worst_cells[0].representation] not in RANDOM
    where = f"{worst_cells[0].representation} / {worst_cells[0].activation}" if worst_cells else ""
    false_least = [
        _log10(min((c.error for c in t.cells if c.theorem is False), default=math.inf), 1e-300)
        for t in tables
    ]
    return [
        judge(
            "Theorem 1 as eqlab decides it (from the class of the matrices and the probed properties of "
            "the activation, measuring nothing) is borne out where it says equivariant: the float64 error "
            "measured on each seed's fresh inputs stays below 1e-12 (log10 of the worst such cell, floored "
            "at 1e-17, < -12)",
            true_worst,
            threshold=-12,
            direction="less",
            exact=f"every seed's worst such cell is {where} at the same input of a representation no seed "
            "redraws: one deterministic float64 computation, repeated bit for bit"
            if fixed
            else None,
        ),
        judge(
            "Theorem 1 as eqlab decides it is borne out where it says not equivariant: the measurement finds "
            "a counterexample in every such cell (log10 of the smallest such error > -6)",
            false_least,
            threshold=-6,
        ),
    ]


def _network_verdicts(config: ActivationsConfig, results: ActivationsResults) -> list[Verdict]:
    n = config.rotation_order
    rotating, regular = _moving(results, Network.ROTATION), _moving(results, Network.REGULAR)
    trivial = [u for u in results.networks if u.network is Network.TRIVIAL]
    built = bool(trivial) and all(u.last_layer_weights == 0 == u.last_layer_bias for u in trivial)
    return [
        # A network that ends constant (all its ReLUs dead) maps everything to 0, which every rotation
        # fixes: it is equivariant whatever its hidden features, so these two claims are about the
        # networks that did not end constant, and say how many those are.
        judge(
            f"ReLU on rotating hidden features (copies of the C{n} rotation, not a monomial representation): "
            f"the trained network, where not constant, breaks C{n}-equivariance (log10 relative error > -6; "
            f"{len(rotating)} of {_count(results, Network.ROTATION)} seeds not constant)",
            [_log10(u.cn_error, ERROR_FLOOR) for u in rotating],
            threshold=-6,
        ),
        judge(
            f"Corollary 3: the regular-feature network, where not constant, is not SO(2)-equivariant (log10 "
            f"relative error at {ANGLES} random angles > -6; {len(regular)} of "
            f"{_count(results, Network.REGULAR)} seeds not constant)",
            [_log10(u.so2_error, ERROR_FLOOR) for u in regular],
            threshold=-6,
        ),
        judge(
            "the regular-feature network is not trivial: it fits the equivariant target better than "
            "predicting 0, all the trivial-feature network can do (log of the target's mean square over "
            "the test MSE > 0)",
            [
                math.log(u.target_power / u.test_mse)
                for u in sorted(
                    (u for u in results.networks if u.network is Network.REGULAR), key=lambda u: u.seed_index
                )
            ],
        ),
        judge(
            f"ReLU on the regular representation of C{n} (a permutation representation) keeps the network "
            f"exactly C{n}-equivariant (log10 relative error, floored at 1e-17, < -12)",
            [_log10(v, ERROR_FLOOR) for v in _values(results, Network.REGULAR, lambda u: u.cn_error)],
            threshold=-12,
            direction="less",
            kind=Kind.DEMONSTRATION,
            exact="an exactly equivariant computation (equivariant linear layers, ReLU on a permutation "
            "representation) errs by rounding only, which may be 0 (floored at 1e-17) on every seed",
        ),
        judge(
            "trivial hidden features, the only kind pointwise activations allow for SO(2), make the network "
            "the zero map by construction: its output never changes (log10 of its largest output change, "
            "floored at 1e-30, < -12)",
            [_log10(v, SPREAD_FLOOR) for v in _values(results, Network.TRIVIAL, lambda u: u.output_spread)],
            threshold=-12,
            direction="less",
            kind=Kind.DEMONSTRATION,
            exact="on every seed the output layer, from trivial features to the rotating plane, has no "
            "weights and no bias (the rotation fixes no vector), so the output is exactly 0 for every input "
            "and every weight"
            if built
            else None,
        ),
    ]


def _disagreement_note(tables: Sequence[TableSeed]) -> str:
    rows = [(t.seed_index, c) for t in tables for c in t.cells if _disagrees(c)]
    total = sum(len(t.cells) for t in tables)
    if not rows:
        return (
            "Cells where the theorem's verdict, check's verdict and the measurement part ways, or the "
            f"theorem cannot decide: none of {total} (over all seeds)."
        )
    listed = "; ".join(
        f"seed {s}: {c.representation} / {c.activation} (theorem {_mark(c.theorem)}, check {_mark(c.check)}, "
        f"error {c.error:.1e})"
        for s, c in rows
    )
    return (
        "Cells where the theorem's verdict, check's verdict and the measurement part ways, or the "
        f"theorem cannot decide: {len(rows)} of {total} (boxed in the figure): {listed}."
    )


def _log_periodic_note(tables: Sequence[TableSeed]) -> str:
    admitted = [c.representation for c in tables[0].cells if c.activation == "log-periodic" and c.theorem]
    return (
        "'log-periodic' is x (1 + 0.3 sin(2 pi log2|x|)), odd and 2-multiplicative but not semilinear; its "
        "properties are probed numerically, not looked up. The theorem admits such a function for the "
        "(signed) permutations and the (signed) 2-monomial groups; eqlab's verdict admitted it, on the first "
        f"seed, for: {', '.join(admitted) if admitted else 'none'}."
    )


def _network_notes(config: ActivationsConfig, results: ActivationsResults) -> list[str]:
    n = config.rotation_order

    def mean(network: Network, read: Callable[[NetworkSeed], float]) -> float:
        return float(np.mean(_values(results, network, read)))

    def first(network: Network) -> NetworkSeed:
        return next(u for u in results.networks if u.network is network)

    trivial = first(Network.TRIVIAL)
    constant = ", ".join(
        f"{NETWORK_LABELS[network]} {_count(results, network) - len(_moving(results, network))} of "
        f"{_count(results, network)}"
        for network in (Network.ROTATION, Network.REGULAR, Network.MLP)
    )
    return [
        f"Trained networks whose output ended constant on the measured test points (spread 0): {constant}. "
        "A constant network is equivariant whatever its features, so the claims about breaking "
        "equivariance count only the others.",
        f"Each seed draws its own training and test points and its own {ANGLES} random angles; the "
        "networks of one seed train and are tested on the same points (paired) in the same batch order, "
        "each from its own initialisation.",
        f"The networks map the plane to the plane through two hidden layers of {config.hidden_copies * n} "
        f"features; C{n} acts on input and output by rotations. The trivial-feature network's first layer "
        f"has {trivial.first_layer_weights} free weights (the rotation has no invariant linear functional) "
        f"and its output layer {trivial.last_layer_weights} weights and {trivial.last_layer_bias} bias "
        "entries (the rotation fixes no vector): with none, it is the zero map whatever its weights, the "
        "extreme of Corollary 3's 'only invariant', so it is built and measured but not trained.",
        f"Fit at this scale: mean test MSE {mean(Network.REGULAR, lambda u: u.test_mse):.3g} for the regular "
        f"network ({first(Network.REGULAR).parameters} parameters) against "
        f"{mean(Network.MLP, lambda u: u.test_mse):.3g} for the unconstrained MLP "
        f"({first(Network.MLP).parameters} parameters, not equivariant) and "
        f"{mean(Network.ROTATION, lambda u: u.test_mse):.3g} for rotating features; predicting 0 scores "
        f"{mean(Network.REGULAR, lambda u: u.target_power):.3g}. No claim is made about the MLP.",
        f"Theorem 1 admits ReLU on the regular representation of C{n}, a permutation representation, for the "
        f"{n} rotations of C{n} only; Corollary 3 says no non-constant network of this kind is SO(2)-"
        "equivariant, which the SO(2) claim tests.",
    ]


def _network_table(config: ActivationsConfig, results: ActivationsResults) -> Table:
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
                max(u.cn_error for u in units),
                max(u.so2_error for u in units),
                max(u.output_spread for u in units),
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


def _grid(tables: Sequence[TableSeed]) -> Table:
    rows = []
    for rep in REPRESENTATIONS:
        row: list[Any] = [rep]
        for act in ACTIVATIONS:
            worst = _worst(tables, rep, act)
            row.append(
                f"{_verdict_marks(tables, rep, act)} {worst:.0e}"
                if worst > 0
                else f"{_verdict_marks(tables, rep, act)} 0"
            )
        rows.append(row)
    return Table(
        "Theorem 1's verdict (yes, no, or ? when undecided; a/b where seeds differ) and the worst measured "
        "relative error over seeds, per representation and activation",
        ["representation", *ACTIVATIONS],
        rows,
    )


def _network_plots(config: ActivationsConfig, results: ActivationsResults, plots: Path) -> None:
    n = config.rotation_order
    labels = [NETWORK_LABELS[network] for network in Network]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    for ax, read, title in (
        (axes[0], lambda u: u.cn_error, f"the {n} rotations of C{n}"),
        (axes[1], lambda u: u.so2_error, f"{ANGLES} random angles (SO(2))"),
    ):
        for k, network in enumerate(Network):
            vals = [max(v, ERROR_FLOOR) for v in _values(results, network, read)]
            ax.scatter([k] * len(vals), vals, color=f"C{k}")
        ax.set_yscale("log")
        ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
        ax.axhline(1e-12, color="grey", linestyle=":")
        ax.set_title(title)
        ax.set_ylabel("relative equivariance error (float64, floor 1e-17)")
        ax.grid(True, axis="y", alpha=0.3)
    save_figure(fig, plots / "network_errors.png")
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for k, network in enumerate(Network):
        vals = _values(results, network, lambda u: u.test_mse / u.target_power)
        ax.scatter([k] * len(vals), vals, color=f"C{k}")
    ax.axhline(1.0, color="grey", linestyle=":", label="predict 0")
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("test MSE / target mean square")
    ax.legend()
    ax.set_title("Fitting an equivariant vector field on the plane")
    save_figure(fig, plots / "network_mse.png")


def report(config: ActivationsConfig, results: ActivationsResults, plots: Path) -> Report:
    """Verdicts, tables and plots from saved results."""
    tables = results.tables
    n = config.rotation_order
    verdicts = _table_verdicts(tables) + _network_verdicts(config, results)
    class_table = Table(
        "Representations: Theorem 1 class, what it admits, and the fix the theory allows (first seed)",
        ["representation", "dim", "class", "b", "admits", "fix"],
        [
            [r.representation, r.dim, r.case, r.b or "", r.admissible, r.fix]
            for r in tables[0].representations
        ],
    )
    counter_table = Table(
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
    _heatmap(tables, plots / "verdict_vs_error.png")
    _network_plots(config, results, plots)
    disagreeing = sum(_disagrees(c) for t in tables for c in t.cells)
    worst = {
        network: max(u.cn_error for u in results.networks if u.network is network)
        for network in (Network.ROTATION, Network.REGULAR)
    }
    moving = _moving(results, Network.REGULAR)
    least_so2 = f"{min(u.so2_error for u in moving):.1e}" if moving else "none (every seed constant)"
    trivial_ratio = float(
        np.mean([u.test_mse / u.target_power for u in results.networks if u.network is Network.TRIVIAL])
    )
    trivial_spread = max(_values(results, Network.TRIVIAL, lambda u: u.output_spread))
    notes = [
        f"{config.seeds} seeds. The random representations (rescaled S4, rescaled signed S3, unit-row-sum "
        "S3, C4 regular in a random basis) and the random inputs of the measurement are redrawn per seed; "
        "so is the theorem's verdict.",
        _disagreement_note(tables),
        "The measured error is max |f(M x) - M f(x)| / |M f(x)| over the generators and 64 Gaussian inputs, "
        "signed basis vectors scaled by 1e-3, 1 and 1e3, and two constant vectors. check's verdict adds its "
        "own measurement (on inputs of a fixed seed) to the theorem's.",
        _log_periodic_note(tables),
        *_network_notes(config, results),
    ]
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
        tables=[_grid(tables), class_table, _network_table(config, results), counter_table],
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
                f"({len(moving)} of {_count(results, Network.REGULAR)} seeds).",
            ),
            Figure(
                "network_mse.png",
                "Test MSE per network over the target's mean square on the same seed, one dot per seed; the "
                "dotted line, 1, is the error of predicting 0. The trivial-feature network's ratio is "
                f"{trivial_ratio:.3g} on average, and its output changes by at most {trivial_spread:.1e}.",
            ),
        ],
        notes=notes,
        key_figure="verdict_vs_error.png",
    )


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
