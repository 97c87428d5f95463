"""`align` two networks, and `self_align` a network with its transformed self.

``self_align(model, t)`` is ``align(model, transform_network(model, t))``: the permutations ``P_l``
with ``W_l ~ P_l T(W_l) P_{l-1}^T``. When they make the two equal the network is *layerwise
equivariant*: every feature map satisfies ``phi_l(t x) = P_l t phi_l(x)``. Channels fixed by
``P_l`` then carry symmetric filters, channels swapped in pairs carry mirrored copies of each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from eqlab._arguments import choice, describe, flag, function, integer
from eqlab._arguments import module as check_module
from eqlab.layerwise._checks import check_inputs, same_architecture
from eqlab.layerwise._match import (
    Solver,
    activation_matching,
    checked_solver,
    collect_features,
    weight_matching,
)
from eqlab.layerwise._permute import permute_model
from eqlab.layerwise._spec import PermutationSpec, spec_of
from eqlab.layerwise._transform import TRANSFORMS, transform_network

__all__ = [
    "EXACT_INVOLUTION_MAX",
    "METHODS",
    "AlignResult",
    "GroupStructure",
    "SelfAlignResult",
    "align",
    "cycle_structure",
    "involution_assignment",
    "self_align",
]

METHODS = ("weights", "activations")


EXACT_INVOLUTION_MAX = 128
"""Largest channel count matched exactly by `involution_assignment` (a pure-Python blossom, O(n^3))."""


def involution_assignment(cost: np.ndarray) -> np.ndarray:
    """An involution ``perm`` (``perm[perm] = id``) with a large ``sum_o cost[o, perm[o]]``.

    Up to `EXACT_INVOLUTION_MAX` channels it is the maximum: a maximum-weight matching on the channels,
    each with a private twin for staying fixed; the pair ``(i, j)`` weighs ``cost[i, j] + cost[j, i] + 2K``
    and ``(i, twin)`` weighs ``cost[i, i] + K``, the offset ``K`` making every weight positive and every
    channel covered. Above, a heuristic: the cycles of the unconstrained assignment are split optimally
    into fixed channels and pairs of neighbours along the cycle (dynamic programming).
    """
    cost = _cost_matrix(cost)
    n = cost.shape[0]
    if n > EXACT_INVOLUTION_MAX:
        return _split_cycles(cost)
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


def _cost_matrix(cost: Any) -> np.ndarray:
    """``cost`` as a finite real square float64 array (numpy arrays, tensors and nested lists pass)."""
    if isinstance(cost, torch.Tensor):
        cost = cost.detach().cpu().numpy()
    elif isinstance(cost, (list, tuple)):
        cost = np.asarray(cost)
    if not isinstance(cost, np.ndarray):
        raise TypeError(f"cost must be a square matrix (a numpy array or a tensor), got {describe(cost)}")
    if cost.dtype == np.bool_ or not (
        np.issubdtype(cost.dtype, np.integer) or np.issubdtype(cost.dtype, np.floating)
    ):
        raise TypeError(f"cost must hold real numbers, got {describe(cost)}")
    if cost.ndim != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(f"cost must be a square matrix, got {describe(cost)}")
    if not np.isfinite(cost).all():
        raise ValueError(f"cost must hold only finite values, got {describe(cost)} with NaN or Inf")
    return cost.astype(np.float64, copy=False)


def _split_cycles(cost: np.ndarray) -> np.ndarray:
    """The unconstrained assignment's cycles, each split into pairs of neighbours and fixed points."""
    sigma = linear_sum_assignment(cost, maximize=True)[1]
    perm = np.arange(cost.shape[0])
    seen = np.zeros(cost.shape[0], dtype=bool)
    for start in range(cost.shape[0]):
        cycle = []
        node = start
        while not seen[node]:
            seen[node] = True
            cycle.append(node)
            node = int(sigma[node])
        for a, b in _best_pairs(cycle, cost):
            perm[a], perm[b] = b, a
    return perm


def _best_pairs(cycle: list[int], cost: np.ndarray) -> list[tuple[int, int]]:
    """Disjoint neighbour pairs on a cycle maximising pair weights ``c_ab + c_ba`` plus ``c_ii`` for the
    rest; two linear passes (the closing edge unused, or used)."""
    length = len(cycle)
    if length < 2:
        return []

    def pair(a: int, b: int) -> float:
        return float(cost[a, b] + cost[b, a])

    def path(nodes: list[int]) -> tuple[float, list[tuple[int, int]]]:
        best: list[tuple[float, list[tuple[int, int]]]] = [(0.0, [])]
        for k, node in enumerate(nodes):
            keep = (best[k][0] + float(cost[node, node]), best[k][1])
            if k >= 1:
                joined = (best[k - 1][0] + pair(nodes[k - 1], node), [*best[k - 1][1], (nodes[k - 1], node)])
                keep = max(keep, joined, key=lambda t: t[0])
            best.append(keep)
        return best[-1]

    if length == 2:
        return (
            [(cycle[0], cycle[1])]
            if pair(cycle[0], cycle[1]) > cost[cycle[0], cycle[0]] + cost[cycle[1], cycle[1]]
            else []
        )
    open_value, open_pairs = path(cycle)
    closed_value, closed_pairs = path(cycle[1:-1])
    closed_value += pair(cycle[-1], cycle[0])
    return open_pairs if open_value >= closed_value else [*closed_pairs, (cycle[-1], cycle[0])]


@dataclass
class AlignResult:
    """The outcome of `align`.

    Attributes
    ----------
    permutations
        One LongTensor per group of tied channels (``spec.groups``), ``aligned[o] = model_b[perm[o]]``.
    errors
        Per weighted layer: ``|W_a - W_aligned| / |W_a|`` (weights and bias together).
    activation_errors
        Per weighted layer, with data: ``|phi_a - phi_aligned| / |phi_a|`` of the layer's output.
    aligned
        model_b with its channels, batch-norm parameters and statistics permuted (the same function).
    spec
        The derived permutation spec.
    """

    permutations: list[torch.Tensor]
    errors: dict[str, float]
    activation_errors: dict[str, float]
    aligned: nn.Module
    spec: PermutationSpec
    method: str


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / a.norm().clamp_min(1e-300))


def _layer_errors(spec: PermutationSpec, a: nn.Module, b: nn.Module) -> dict[str, float]:
    modules_a, modules_b = dict(a.named_modules()), dict(b.named_modules())
    errors = {}
    for name in spec.layers:
        pa = torch.cat([p.detach().double().reshape(-1) for p in modules_a[name].parameters()])
        pb = torch.cat([p.detach().double().reshape(-1) for p in modules_b[name].parameters()])
        errors[name] = _relative(pa, pb)
    return errors


def _activation_errors(spec: PermutationSpec, a: nn.Module, b: nn.Module, data: Any) -> dict[str, float]:
    names = [spec.layer_nodes[layer] for layer in spec.layers]
    fa, fb = collect_features(a, spec, names, data), collect_features(b, spec, names, data)
    return {
        layer: _relative(fa[n].double(), fb[n].double()) for layer, n in zip(spec.layers, names, strict=True)
    }


def align(
    model_a: nn.Module,
    model_b: nn.Module,
    method: str = "weights",
    data: Any = None,
    *,
    solver: Solver | None = None,
    seed: int = 0,
) -> AlignResult:
    """Find the channel permutations that best map ``model_b`` onto ``model_a`` (same architecture).

    Parameters
    ----------
    method
        ``"weights"`` (weight matching) or ``"activations"`` (correlations of post-activation features on
        ``data``, eval mode).
    data
        A tensor of inputs or a DataLoader; needed for ``"activations"``, and used for activation errors.
    solver
        The assignment step, ``cost -> perm``; default the linear assignment, `involution_assignment`
        constrains every permutation to an involution.
    """
    check_module(model_a, "model_a")
    check_module(model_b, "model_b")
    method = choice(method, "method", METHODS)
    if solver is not None:
        function(solver, "solver")
    seed = integer(seed, "seed", minimum=0)
    if data is not None:
        check_inputs(data)
    spec = spec_of(model_a, "model_a")
    if [g.size for g in spec_of(model_b, "model_b").groups] != [g.size for g in spec.groups]:
        raise ValueError("model_a and model_b must have the same architecture (their channel groups differ)")
    same_architecture([("model_a", model_a), ("model_b", model_b)])
    solve = checked_solver(solver)
    if method == "weights":
        perms = weight_matching(spec, model_a.state_dict(), model_b.state_dict(), seed=seed, solver=solve)
    else:
        if data is None:
            raise ValueError("method='activations' needs data (a tensor of inputs or a DataLoader)")
        perms = activation_matching(spec, model_a, model_b, data, solver=solve)
    aligned = permute_model(model_b, spec, perms)
    act_errors = _activation_errors(spec, model_a, aligned, data) if data is not None else {}
    return AlignResult(perms, _layer_errors(spec, model_a, aligned), act_errors, aligned, spec, method)


@dataclass(frozen=True)
class GroupStructure:
    """How one group's permutation decomposes: fixed channels, swapped pairs, longer cycles."""

    group: str
    size: int
    fixed: int
    pairs: int
    longer_cycles: int
    involution: bool
    order_divides: bool


def cycle_structure(perm: torch.Tensor, order: int = 2) -> tuple[int, int, int, bool]:
    """``(fixed points, 2-cycles, longer cycles, perm^order == id)``."""
    if not isinstance(perm, torch.Tensor) or perm.dim() != 1:
        raise TypeError(f"perm must be a 1-D tensor of indices, got {describe(perm)}")
    if perm.is_floating_point() or perm.is_complex() or perm.dtype == torch.bool:
        raise TypeError(f"perm must be an integer tensor, got {describe(perm)}")
    n = perm.numel()
    if not torch.equal(perm.sort().values.cpu().long(), torch.arange(n)):
        raise ValueError(
            f"perm must be a permutation of 0..{n - 1}, got {perm.tolist() if n <= 16 else describe(perm)}"
        )
    order = integer(order, "order", minimum=1)
    perm = perm.cpu().long()
    seen = torch.zeros(n, dtype=torch.bool)
    lengths = []
    for start in range(n):
        length, i = 0, start
        while not seen[i]:
            seen[i], i, length = True, int(perm[i]), length + 1
        if length:
            lengths.append(length)
    power = torch.arange(n)
    for _ in range(order):
        power = perm[power]
    identity = torch.equal(power, torch.arange(n))
    return lengths.count(1), lengths.count(2), sum(1 for v in lengths if v > 2), identity


@dataclass
class SelfAlignResult:
    """The outcome of `self_align`: the alignment, per-group cycle structure and per-layer errors."""

    alignment: AlignResult
    transform: str
    transformed: nn.Module
    structure: list[GroupStructure]

    @property
    def permutations(self) -> list[torch.Tensor]:
        return self.alignment.permutations

    @property
    def aligned(self) -> nn.Module:
        """``pi(T(W))``: the transformed network with its channels aligned to the original."""
        return self.alignment.aligned

    @property
    def is_representation(self) -> bool:
        """Whether every permutation has order dividing the transform's (involutions for flips), the
        condition for an exact group average (`eqlab.layerwise._merge.group_average`)."""
        return all(s.order_divides for s in self.structure)

    def table(self) -> str:
        """One row per weighted layer: weight and activation error; one per group: its cycle structure."""
        rows = [f"{'layer':20s} {'weight error':>13s} {'activation error':>17s}"]
        for layer, error in self.alignment.errors.items():
            act = self.alignment.activation_errors.get(layer)
            rows.append(f"{layer[:20]:20s} {error:13.3e} {'' if act is None else f'{act:.3e}':>17s}")
        rows.append(
            f"{'group':20s} {'size':>5s} {'fixed':>6s} {'pairs':>6s} {'longer':>7s} {'involution':>11s}"
        )
        for s in self.structure:
            rows.append(
                f"{s.group[:20]:20s} {s.size:5d} {s.fixed:6d} {s.pairs:6d} {s.longer_cycles:7d} "
                f"{'yes' if s.involution else 'no':>11s}"
            )
        return "\n".join(rows)


def self_align(
    model: nn.Module,
    transform: str,
    method: str = "weights",
    data: Any = None,
    *,
    involution: bool = False,
    input_size: int | None = None,
    seed: int = 0,
) -> SelfAlignResult:
    """`align` ``model`` with ``transform_network(model, transform)`` and describe the permutations.

    ``involution=True`` (flips only) constrains every permutation to an involution, so that the group
    average of the network and its aligned flipped self is exactly invariant.
    """
    check_module(model, "model")
    transform = choice(transform, "transform", TRANSFORMS)
    method = choice(method, "method", METHODS)
    involution = flag(involution, "involution")
    if input_size is not None:
        integer(input_size, "input_size", minimum=1)
    seed = integer(seed, "seed", minimum=0)
    if method == "activations" and data is None:
        raise ValueError("method='activations' needs data (a tensor of inputs or a DataLoader)")
    if data is not None:
        check_inputs(data)
    if involution and transform == "rot90":
        raise ValueError("involution=True needs an order-2 transform (hflip or vflip), got 'rot90'")
    transformed = transform_network(model, transform, input_size=input_size)
    result = align(
        model, transformed, method, data, solver=involution_assignment if involution else None, seed=seed
    )
    order = 4 if transform == "rot90" else 2
    structure = []
    for group, perm in zip(result.spec.groups, result.permutations, strict=True):
        fixed, pairs, longer, divides = cycle_structure(perm, order)
        is_involution = cycle_structure(perm, 2)[3]
        structure.append(GroupStructure(group.name, group.size, fixed, pairs, longer, is_involution, divides))
    return SelfAlignResult(result, transform, transformed, structure)
