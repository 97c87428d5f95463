"""Assignments restricted to permutations of order 2 or 4: exact against brute force, the heuristic's
reported gap against the true optimum, and the cycle structure."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from eqlab.layerwise import _cycles
from eqlab.layerwise._cycles import cycle_structure, gap, involution_assignment, restricted_assignment


def _value(cost: np.ndarray, perm: np.ndarray) -> float:
    return float(cost[np.arange(len(perm)), perm].sum())


def _order_divides(perm: np.ndarray, order: int) -> bool:
    power = np.arange(len(perm))
    for _ in range(order):
        power = perm[power]
    return bool(np.array_equal(power, np.arange(len(perm))))


def _brute_force(cost: np.ndarray, order: int) -> float:
    """The best value over every permutation whose order divides ``order``."""
    n = cost.shape[0]
    perms = (np.asarray(p) for p in itertools.permutations(range(n)))
    return max(_value(cost, p) for p in perms if _order_divides(p, order))


def _upper(cost: np.ndarray) -> float:
    return _value(cost, _cycles.linear_assignment(cost))


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_the_exact_solver_matches_brute_force(order: int, n: int) -> None:
    rng = np.random.default_rng(10 * n + order)
    for _ in range(4):
        cost = rng.standard_normal((n, n))
        perm = restricted_assignment(cost, order)
        assert _order_divides(perm, order)
        assert _value(cost, perm) == pytest.approx(_brute_force(cost, order), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("width", [0, 3])
def test_the_heuristic_reports_a_gap_that_bounds_its_loss(
    monkeypatch: pytest.MonkeyPatch, order: int, width: int
) -> None:
    # width 0: every bad cycle split by dynamic programming; 3: cycles of 3 solved exactly, longer split
    monkeypatch.setattr(_cycles, "EXACT_ORDER4_MAX", width)
    monkeypatch.setattr(_cycles, "EXACT_INVOLUTION_MAX", width)
    rng = np.random.default_rng(order + width)
    for n in (5, 6, 7):
        for _ in range(6):
            cost = rng.standard_normal((n, n))
            perm = restricted_assignment(cost, order)
            assert _order_divides(perm, order)
            best, upper = _brute_force(cost, order), _upper(cost)
            reported = gap(cost, perm)
            assert reported == pytest.approx((upper - _value(cost, perm)) / abs(upper), abs=1e-12)
            assert _value(cost, perm) <= best + 1e-12
            assert (best - _value(cost, perm)) / abs(upper) <= reported + 1e-12


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=12),
    order=st.sampled_from([2, 4]),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_a_planted_permutation_with_a_margin_is_found(n: int, order: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lengths: list[int] = []
    while sum(lengths) < n:
        fits = [k for k in ([1, 2] if order == 2 else [1, 2, 4]) if sum(lengths) + k <= n]
        lengths.append(int(rng.choice(fits)))
    truth, start = np.arange(n), 0
    order_of = rng.permutation(n)
    for length in lengths:
        cycle = order_of[start : start + length]
        truth[cycle] = np.roll(cycle, -1)
        start += length
    cost = rng.uniform(-1, 1, (n, n)) + 3 * n * np.eye(n)[truth]
    assert np.array_equal(restricted_assignment(cost, order), truth)


def test_the_exact_order4_solver_runs_at_its_width() -> None:
    cost = np.random.default_rng(0).standard_normal((_cycles.EXACT_ORDER4_MAX,) * 2)
    perm = _cycles._exact_order4(cost)
    assert _order_divides(perm, 4) and gap(cost, perm) > 0  # random costs: the constraint has a price


def test_the_involution_heuristic_is_near_the_exact_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    cost = np.random.default_rng(1).standard_normal((40, 40))
    exact = involution_assignment(cost)
    monkeypatch.setattr(_cycles, "EXACT_INVOLUTION_MAX", 0)
    heuristic = involution_assignment(cost)
    assert _order_divides(heuristic, 2)
    assert 0.5 * _value(cost, exact) <= _value(cost, heuristic) <= _value(cost, exact) + 1e-9


def test_the_unconstrained_optimum_is_kept_when_it_obeys_the_constraint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_cycles, "_exact_order4", None)  # would fail if called
    truth = np.array([1, 2, 3, 0, 5, 4, 6])
    cost = np.eye(7)[truth] + 0.01 * np.random.default_rng(2).standard_normal((7, 7))
    assert np.array_equal(restricted_assignment(cost, 4), truth)


def test_cycle_structure_counts_cycles_and_checks_the_order() -> None:
    perm = torch.tensor([1, 0, 2, 4, 5, 6, 3])  # a pair, a fixed channel, a 4-cycle
    assert cycle_structure(perm, 2) == (1, 1, 1, False)
    assert cycle_structure(perm, 4) == (1, 1, 1, True)
