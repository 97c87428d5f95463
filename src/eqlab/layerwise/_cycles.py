"""Channel permutations of order 2 or 4: cycle structure, and assignments restricted to them.

A self-alignment permutation ``pi`` makes the group average exact when ``pi^m = id``, ``m`` the order of
the transform: every cycle of ``pi`` has length 1 or 2 (flips, ``m = 2``) or 1, 2 or 4 (``rot90``,
``m = 4``). The best such ``pi`` for a cost matrix, ``max sum_i cost[i, pi[i]]``, is a cover of the
channels by cycles of those lengths: a restricted cycle cover. `restricted_assignment` solves it.

- **Order 2** (`involution_assignment`): exact up to `EXACT_INVOLUTION_MAX` = 128 channels, a
  maximum-weight matching (networkx's blossom algorithm) on the channels, each with a private twin for
  staying fixed.
- **Order 4** (`order4_assignment`): exact up to `EXACT_ORDER4_MAX` = 24 channels, an integer program
  (`scipy.optimize.milp`, HiGHS, zero optimality gap): choose candidate cycles that partition the
  channels, maximising their total weight. The candidates are every fixed channel, every pair, and
  for every set of four channels its best directed 4-cycle; a pair that weighs no more than its two
  channels fixed, and a 4-cycle that weighs no more than the best split of its four channels into
  pairs and fixed channels, are dropped (the split covers the same channels and weighs as much). At
  24 channels that is at most 10,926 columns. On random Gaussian costs (the hard case: structured
  costs solve faster) one solve at 24 channels took 0.6 s (median) and 2.2 s (slowest of 20) on a
  shared 2-core machine, 5.2 s at 32 (``python benchmarks/bench_layerwise.py solvers``).
- **When the unconstrained optimum obeys the constraint** (the linear assignment's cycles all have
  allowed lengths, as for a network that is layerwise equivariant), it is the answer at any width.
- **Above those widths, a heuristic.** The unconstrained linear assignment is the optimum over all
  permutations; its cycles of an allowed length stay, and every other cycle is split optimally: its
  channels get the exact solver's answer when they are few enough, else the best split of the cycle
  into consecutive runs of 1, 2 or 4 channels (each run taking its best allowed permutation), by
  dynamic programming around the cycle. On random Gaussian costs its gap (below) averaged 0.13 up to
  32 channels, where the exact optimum's averaged 0.08, and 0.18 to 0.21 from 64 to 512 channels
  (under 1 s a solve).

The linear assignment's value ``upper`` bounds every restricted one, so `gap`, ``(upper - value) /
|upper|``, bounds how far the heuristic is from the optimum (and is the price of the constraint when the
solver is exact).
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import torch

from eqlab._arguments import describe, integer

__all__ = [
    "EXACT_INVOLUTION_MAX",
    "EXACT_ORDER4_MAX",
    "cost_matrix",
    "cycle_lengths",
    "cycle_structure",
    "exact_width",
    "gap",
    "involution_assignment",
    "linear_assignment",
    "order4_assignment",
    "restricted_assignment",
]

EXACT_INVOLUTION_MAX = 128
"""Largest channel count matched exactly by `involution_assignment` (a pure-Python blossom, O(n^3))."""

EXACT_ORDER4_MAX = 24
"""Largest channel count solved exactly by `order4_assignment` (an integer program; about 2 s at most)."""

_ORDERS = (1, 2, 4)


def cost_matrix(cost: Any, name: str = "cost") -> np.ndarray:
    """``cost`` as a finite real square float64 array ``(n, n)`` (numpy arrays, tensors, nested lists)."""
    if isinstance(cost, torch.Tensor):
        cost = cost.detach().cpu().numpy()
    elif isinstance(cost, (list, tuple)):
        cost = np.asarray(cost)
    if not isinstance(cost, np.ndarray):
        raise TypeError(f"{name} must be a square matrix (a numpy array or a tensor), got {describe(cost)}")
    if cost.dtype == np.bool_ or not (
        np.issubdtype(cost.dtype, np.integer) or np.issubdtype(cost.dtype, np.floating)
    ):
        raise TypeError(f"{name} must hold real numbers, got {describe(cost)}")
    if cost.ndim != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got {describe(cost)}")
    if not np.isfinite(cost).all():
        raise ValueError(f"{name} must hold only finite values, got {describe(cost)} with NaN or Inf")
    return cost.astype(np.float64, copy=False)


def _cycles(perm: np.ndarray) -> list[list[int]]:
    """The cycles of ``perm``, each in order ``[i, perm[i], perm[perm[i]], ...]``."""
    seen = np.zeros(perm.size, dtype=bool)
    out = []
    for start in range(perm.size):
        cycle = []
        node = start
        while not seen[node]:
            seen[node] = True
            cycle.append(node)
            node = int(perm[node])
        if cycle:
            out.append(cycle)
    return out


def _as_permutation(perm: Any) -> np.ndarray:
    if not isinstance(perm, torch.Tensor) or perm.dim() != 1:
        raise TypeError(f"perm must be a 1-D tensor of indices, got {describe(perm)}")
    if perm.is_floating_point() or perm.is_complex() or perm.dtype == torch.bool:
        raise TypeError(f"perm must be an integer tensor, got {describe(perm)}")
    n = perm.numel()
    if not torch.equal(perm.sort().values.cpu().long(), torch.arange(n)):
        raise ValueError(
            f"perm must be a permutation of 0..{n - 1}, got {perm.tolist() if n <= 16 else describe(perm)}"
        )
    return perm.cpu().long().numpy()


def cycle_lengths(perm: torch.Tensor) -> list[int]:
    """The lengths of the cycles of ``perm`` (a permutation tensor ``(n,)``), in order of first channel."""
    return [len(c) for c in _cycles(_as_permutation(perm))]


def cycle_structure(perm: torch.Tensor, order: int = 2) -> tuple[int, int, int, bool]:
    """``(fixed points, 2-cycles, longer cycles, perm^order == id)`` of a permutation tensor ``(n,)``."""
    lengths = cycle_lengths(perm)
    order = integer(order, "order", minimum=1)
    divides = all(order % length == 0 for length in lengths)
    return lengths.count(1), lengths.count(2), sum(1 for v in lengths if v > 2), divides


def linear_assignment(cost: np.ndarray) -> np.ndarray:
    """The unconstrained optimum: ``perm (n,)`` maximising ``sum_i cost[i, perm[i]]``."""
    from scipy.optimize import linear_sum_assignment

    return np.asarray(linear_sum_assignment(cost, maximize=True)[1])


def _value(cost: np.ndarray, perm: np.ndarray) -> float:
    return float(cost[np.arange(cost.shape[0]), perm].sum())


def gap(cost: np.ndarray, perm: np.ndarray) -> float:
    """``(upper - value) / |upper|``: how far ``perm``'s value falls below the unconstrained optimum
    ``upper`` (0 when both are 0; never negative)."""
    upper = _value(cost, linear_assignment(cost))
    achieved = _value(cost, perm)
    if upper == achieved:
        return 0.0
    return max(0.0, (upper - achieved) / abs(upper)) if upper else float("inf")


def restricted_assignment(cost: Any, order: int) -> np.ndarray:
    """``perm (n,)`` with ``perm^order = id`` and a large ``sum_i cost[i, perm[i]]`` (module docstring):
    `involution_assignment` for ``order = 2``, `order4_assignment` for 4, the linear assignment for 1."""
    cost = cost_matrix(cost)
    order = integer(order, "order", minimum=1)
    if order not in _ORDERS:
        raise ValueError(f"order must be 1, 2 or 4, got {order}")
    if order == 1:
        return linear_assignment(cost)
    return _restricted(cost, order)


def involution_assignment(cost: Any) -> np.ndarray:
    """An involution ``perm (n,)`` (``perm[perm] = id``) with a large ``sum_i cost[i, perm[i]]``.

    Up to `EXACT_INVOLUTION_MAX` channels it is the maximum: a maximum-weight matching on the channels,
    each with a private twin for staying fixed; the pair ``(i, j)`` weighs ``cost[i, j] + cost[j, i] + 2K``
    and ``(i, twin)`` weighs ``cost[i, i] + K``, the offset ``K`` making every weight positive and every
    channel covered. Above, the heuristic of the module docstring.
    """
    return _restricted(cost_matrix(cost), 2)


def _exact_involution(cost: np.ndarray) -> np.ndarray:
    import networkx as nx

    n = cost.shape[0]
    offset = 1.0 + 2.0 * float(np.abs(cost).max(initial=0.0))
    graph = nx.Graph()
    for i in range(n):
        graph.add_edge(i, ("twin", i), weight=float(cost[i, i]) + offset)
        for j in range(i + 1, n):
            graph.add_edge(i, j, weight=float(cost[i, j] + cost[j, i]) + 2 * offset)
    perm = np.arange(n)
    for u, v in nx.max_weight_matching(graph):
        if isinstance(u, int) and isinstance(v, int):
            perm[u], perm[v] = v, u
    return perm


def order4_assignment(cost: Any) -> np.ndarray:
    """``perm (n,)`` with ``perm^4 = id`` (cycles of length 1, 2 or 4) and a large ``sum_i cost[i, perm[i]]``.

    Up to `EXACT_ORDER4_MAX` channels it is the maximum (an integer program), above the heuristic of the
    module docstring.
    """
    return _restricted(cost_matrix(cost), 4)


# The three ways to close four channels (a, b, c, d) into a cycle; each also runs backwards.
_FOUR_CYCLES = ((0, 1, 2, 3), (0, 1, 3, 2), (0, 2, 1, 3))
# The three ways to split four channels into two pairs.
_PAIRINGS = (((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2)))


def _best_four_cycles(cost: np.ndarray, sets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``sets (k, 4)``: the weight of its best directed 4-cycle and the cycle ``(k, 4)``."""
    best = np.full(len(sets), -np.inf)
    cycle = np.zeros_like(sets)
    for order in _FOUR_CYCLES:
        forward = sets[:, order]
        for nodes in (forward, forward[:, ::-1]):
            weight = sum(cost[nodes[:, k], nodes[:, (k + 1) % 4]] for k in range(4))
            better = weight > best
            best = np.where(better, weight, best)
            cycle[better] = nodes[better]
    return best, cycle


def _best_split(cost: np.ndarray, sets: np.ndarray) -> np.ndarray:
    """For each row of ``sets (k, 4)``: the best weight of its channels split into pairs and fixed ones."""
    diag = np.diag(cost)
    pair = np.maximum(cost + cost.T, diag[:, None] + diag[None, :])  # a pair, or both fixed
    best = diag[sets].sum(axis=1)
    for (a, b), (c, d) in _PAIRINGS:
        best = np.maximum(best, pair[sets[:, a], sets[:, b]] + pair[sets[:, c], sets[:, d]])
    return best


def _exact_order4(cost: np.ndarray) -> np.ndarray:
    """The maximum over permutations of order dividing 4: a set partitioning integer program."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csc_matrix

    n = cost.shape[0]
    diag = np.diag(cost)
    pairs = np.array(list(itertools.combinations(range(n), 2)), dtype=np.int64).reshape(-1, 2)
    pair_weight = cost[pairs[:, 0], pairs[:, 1]] + cost[pairs[:, 1], pairs[:, 0]]
    keep = pair_weight > diag[pairs[:, 0]] + diag[pairs[:, 1]]
    pairs, pair_weight = pairs[keep], pair_weight[keep]
    sets = np.array(list(itertools.combinations(range(n), 4)), dtype=np.int64).reshape(-1, 4)
    four_weight, four_cycles = _best_four_cycles(cost, sets)
    keep = four_weight > _best_split(cost, sets)
    four_weight, four_cycles = four_weight[keep], four_cycles[keep]
    if len(pairs) == 0 and len(four_cycles) == 0:
        return np.arange(n)
    # one row per channel, one column per candidate cycle; every channel covered exactly once
    columns = [np.arange(n), np.repeat(np.arange(len(pairs)), 2), np.repeat(np.arange(len(four_cycles)), 4)]
    offsets = np.cumsum([0, n, len(pairs)])
    rows = np.concatenate([np.arange(n), pairs.reshape(-1), four_cycles.reshape(-1)])
    cols = np.concatenate([c + o for c, o in zip(columns, offsets, strict=True)])
    total = n + len(pairs) + len(four_cycles)
    matrix = csc_matrix((np.ones(rows.size), (rows, cols)), shape=(n, total))
    weight = np.concatenate([diag, pair_weight, four_weight])
    with warnings.catch_warnings():  # scipy passes mip_abs_gap to HiGHS verbatim, and says so
        warnings.filterwarnings("ignore", message="Unrecognized options", category=RuntimeWarning)
        result = milp(
            -weight,
            constraints=LinearConstraint(matrix, 1, 1),
            integrality=np.ones(total),
            bounds=Bounds(0, 1),
            options={"mip_rel_gap": 0.0, "mip_abs_gap": 0.0},
        )
    if result.status != 0 or result.x is None:
        raise RuntimeError(f"the order-4 assignment's integer program failed: {result.message}")
    chosen = result.x > 0.5
    perm = np.arange(n)
    for i, j in pairs[chosen[n : n + len(pairs)]]:
        perm[i], perm[j] = j, i
    for cycle in four_cycles[chosen[n + len(pairs) :]]:
        perm[cycle] = np.roll(cycle, -1)
    return perm


def _restricted(cost: np.ndarray, order: int) -> np.ndarray:
    """The linear assignment when its cycles are allowed (then it is the restricted optimum too), else the
    exact solver or, above its width, the heuristic."""
    sigma = linear_assignment(cost)
    if all(order % len(c) == 0 for c in _cycles(sigma)):
        return sigma
    exact = _exact(cost, order)
    return _repair(cost, order, sigma) if exact is None else exact


def exact_width(order: int) -> int:
    """The largest channel count whose restricted assignment of ``order`` (2 or 4) is solved exactly."""
    return EXACT_INVOLUTION_MAX if order == 2 else EXACT_ORDER4_MAX


def _exact(cost: np.ndarray, order: int) -> np.ndarray | None:
    """The exact restricted optimum when ``cost`` is small enough for it, else None."""
    if cost.shape[0] > exact_width(order):
        return None
    return _exact_involution(cost) if order == 2 else _exact_order4(cost)


def _repair(cost: np.ndarray, order: int, sigma: np.ndarray) -> np.ndarray:
    """The heuristic: the linear assignment ``sigma`` with every cycle whose length does not divide
    ``order`` split optimally (its channels solved exactly when few enough, else `_split_cycle`)."""
    perm = sigma.copy()
    for cycle in _cycles(sigma):
        if order % len(cycle) == 0:
            continue
        nodes = np.asarray(cycle)
        local = _exact(cost[np.ix_(nodes, nodes)], order)
        if local is None:
            perm[nodes] = _split_cycle(cost, cycle, order)
        else:
            perm[nodes] = nodes[local]
    return perm


def _small_perms(order: int) -> dict[int, list[tuple[int, ...]]]:
    """Every permutation of ``k`` items whose order divides ``order``, for the run lengths ``k``."""
    lengths = (1, 2) if order == 2 else (1, 2, 4)
    out = {}
    for k in lengths:
        out[k] = [
            p
            for p in itertools.permutations(range(k))
            if all(order % len(c) == 0 for c in _cycles(np.asarray(p)))
        ]
    return out


def _split_cycle(cost: np.ndarray, cycle: list[int], order: int) -> np.ndarray:
    """The best split of ``cycle`` into consecutive runs of allowed lengths, each run permuted by its best
    allowed permutation; returns the images of the cycle's channels, in the cycle's order."""
    runs = _small_perms(order)
    longest = max(runs)
    length = len(cycle)

    def run(nodes: list[int]) -> tuple[float, list[int]]:
        best = max(runs[len(nodes)], key=lambda p: sum(cost[nodes[i], nodes[p[i]]] for i in range(len(p))))
        return float(sum(cost[nodes[i], nodes[best[i]]] for i in range(len(best)))), [nodes[i] for i in best]

    best_value, best_images = -np.inf, list(cycle)
    for shift in range(min(longest, length)):  # the run holding cycle[0] starts 0..longest-1 places back
        nodes = cycle[length - shift :] + cycle[: length - shift]
        value = [0.0] + [-np.inf] * length
        back: list[tuple[int, list[int]]] = [(0, [])] * (length + 1)
        for end in range(1, length + 1):
            for k in runs:
                if k <= end and value[end - k] > -np.inf:
                    weight, images = run(nodes[end - k : end])
                    if value[end - k] + weight > value[end]:
                        value[end], back[end] = value[end - k] + weight, (end - k, images)
        if value[length] > best_value:
            best_value = value[length]
            image_of: dict[int, int] = {}
            end = length
            while end > 0:
                start, images = back[end]
                image_of.update(zip(nodes[start:end], images, strict=True))
                end = start
            best_images = [image_of[c] for c in cycle]
    return np.asarray(best_images)
