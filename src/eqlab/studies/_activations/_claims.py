"""The claims of the ``activations`` study, judged from its results: two about the table (Theorem 1 as
eqlab decides it against the measurement) and five about the rotation networks."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from eqlab.runs import Kind, Verdict, judge
from eqlab.studies._activations._config import ANGLES, ActivationsConfig, Network
from eqlab.studies._activations._reading import (
    ERROR_FLOOR,
    SPREAD_FLOOR,
    log10_floored,
    not_constant,
    per_seed,
    seed_count,
)
from eqlab.studies._activations._representations import RANDOM, REPRESENTATIONS
from eqlab.studies._activations._results import ActivationsResults, TableSeed
from eqlab.studies._reading import log_ratio, minimum, worst


def _least(errors: Iterable[float]) -> float:
    """The smallest error, NaN kept (`eqlab.studies._reading.minimum`); infinite when there is none."""
    errors = list(errors)
    return minimum(errors) if errors else math.inf


def table_verdicts(tables: Sequence[TableSeed]) -> list[Verdict]:
    """The table's two claims (findings): the theorem's 'yes' and 'no' against the measured errors."""
    # Findings, not demonstrations: the theorem's verdict comes from the class of the matrices and the
    # probed properties of the activation alone (`_decide`), the error from evaluating f(M x) and M f(x)
    # on fresh inputs; nothing ties the two together, so a wrong classification (dense or discrete
    # scales, a unit-row-sum test), a wrong property probe or a wrong reading of the theorem shows up as
    # a disagreement. Theorem 1 itself is proven: what these claims test is eqlab's reading of it,
    # against measurement, on the representations and activations of this table.
    worst_cells = [worst((c for c in t.cells if c.theorem is True), key=lambda c: c.error) for t in tables]
    true_worst = [log10_floored(c.error, ERROR_FLOOR) for c in worst_cells]
    # The worst cell is a maximum over fixed and random inputs. When every seed finds it in the same cell
    # at the same input (the adversarial basis vectors, fixed, of a representation no seed redraws), each
    # seed recomputes the same float64 number: identical values are then one deterministic computation
    # repeated, whose value is known exactly, not a chance agreement of samples. Only then is it said.
    places = {(c.representation, c.activation, c.matrix, c.x) for c in worst_cells}
    fixed = len(places) == 1 and REPRESENTATIONS[worst_cells[0].representation] not in RANDOM
    where = f"{worst_cells[0].representation} / {worst_cells[0].activation}" if worst_cells else ""
    false_least = [
        log10_floored(_least(c.error for c in t.cells if c.theorem is False), 1e-300) for t in tables
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


def network_verdicts(config: ActivationsConfig, results: ActivationsResults) -> list[Verdict]:
    """The rotation networks' five claims: three findings, then two demonstrations."""
    n = config.rotation_order
    rotating, regular = not_constant(results, Network.ROTATION), not_constant(results, Network.REGULAR)
    trivial = [u for u in results.networks if u.network is Network.TRIVIAL]
    built = bool(trivial) and all(u.last_layer_weights == 0 == u.last_layer_bias for u in trivial)
    return [
        # A network that ends constant (all its ReLUs dead) maps everything to 0, which every rotation
        # fixes: it is equivariant whatever its hidden features, so these two claims are about the
        # networks that did not end constant, and say how many those are.
        judge(
            f"ReLU on rotating hidden features (copies of the C{n} rotation, not a monomial representation): "
            f"the trained network, where not constant, breaks C{n}-equivariance (log10 relative error > -6; "
            f"{len(rotating)} of {seed_count(results, Network.ROTATION)} seeds not constant)",
            [log10_floored(u.cn_error, ERROR_FLOOR) for u in rotating],
            threshold=-6,
        ),
        judge(
            f"Corollary 3: the regular-feature network, where not constant, is not SO(2)-equivariant (log10 "
            f"relative error at {ANGLES} random angles > -6; {len(regular)} of "
            f"{seed_count(results, Network.REGULAR)} seeds not constant)",
            [log10_floored(u.so2_error, ERROR_FLOOR) for u in regular],
            threshold=-6,
        ),
        judge(
            "the regular-feature network is not trivial: it fits the equivariant target better than "
            "predicting 0, all the trivial-feature network can do (log of the target's mean square over "
            "the test MSE > 0)",
            [
                log_ratio(u.target_power, u.test_mse)
                for u in sorted(
                    (u for u in results.networks if u.network is Network.REGULAR), key=lambda u: u.seed_index
                )
            ],
        ),
        judge(
            f"ReLU on the regular representation of C{n} (a permutation representation) keeps the network "
            f"exactly C{n}-equivariant (log10 relative error, floored at 1e-17, < -12)",
            [log10_floored(v, ERROR_FLOOR) for v in per_seed(results, Network.REGULAR, lambda u: u.cn_error)],
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
            [
                log10_floored(v, SPREAD_FLOOR)
                for v in per_seed(results, Network.TRIVIAL, lambda u: u.output_spread)
            ],
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
