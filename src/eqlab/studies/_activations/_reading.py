"""How the claims, notes, tables and plots read the results: the floors of log10, the table's cells (a
verdict in one word, the worst error, where theorem, check and measurement part ways) and the networks'
values per seed (all of them, or the seeds whose output is not constant)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from eqlab.studies._activations._config import Network
from eqlab.studies._activations._results import ActivationsResults, Cell, NetworkSeed, TableSeed
from eqlab.studies._reading import maximum

ERROR_FLOOR = 1e-17
"""Errors are floored here before log10: exact computations may give 0."""
SPREAD_FLOOR = 1e-30
"""Output spreads are floored here before log10 (the zero map's spread is exactly 0)."""


def log10_floored(value: float, floor: float) -> float:
    """log10 of ``value``, floored at ``floor`` (exact computations may give 0)."""
    return math.log10(max(value, floor))


def mark(equivariant: bool | None) -> str:
    """A verdict in one word: yes, no, or ? when undecided."""
    return {True: "yes", False: "no", None: "?"}[equivariant]


def disagrees(cell: Cell) -> bool:
    """Whether the theorem and the measurement (or `check`) part ways on a cell, or the theorem cannot
    decide."""
    return (
        cell.theorem is None
        or (cell.theorem is True and cell.error >= 1e-12)
        or (cell.theorem is False and cell.error <= 1e-6)
        or cell.check is not cell.theorem
    )


def verdict_marks(tables: Sequence[TableSeed], rep: str, act: str) -> str:
    """The theorem's verdicts on a cell over the seeds, in words: ``a/b`` where seeds differ."""
    marks = {
        mark(c.theorem) for t in tables for c in t.cells if c.representation == rep and c.activation == act
    }
    return "/".join(sorted(marks))


def worst_error(tables: Sequence[TableSeed], rep: str, act: str) -> float:
    """The largest measured error of a cell over the seeds."""
    return maximum(
        c.error for t in tables for c in t.cells if c.representation == rep and c.activation == act
    )


def per_seed(
    results: ActivationsResults, network: Network, read: Callable[[NetworkSeed], float]
) -> list[float]:
    """One value per seed, in seed order."""
    units = sorted((u for u in results.networks if u.network is network), key=lambda u: u.seed_index)
    return [read(u) for u in units]


def not_constant(results: ActivationsResults, network: Network) -> list[NetworkSeed]:
    """The seeds of ``network`` whose output is not constant, in seed order."""
    units = sorted((u for u in results.networks if u.network is network), key=lambda u: u.seed_index)
    return [u for u in units if u.output_spread > 0]


def seed_count(results: ActivationsResults, network: Network) -> int:
    """The number of seeds on which ``network`` was measured."""
    return sum(u.network is network for u in results.networks)
