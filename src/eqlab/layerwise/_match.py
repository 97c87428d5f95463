"""Finding the channel permutations that map one network onto another.

- **Weight matching** (Ainsworth et al., git re-basin, 2023): maximise ``sum <W_a, P W_b Q^T>`` over all
  parameters by coordinate descent over the channel sets; each step is one assignment problem whose
  cost ``cost[i, j]`` sums, over the set's members (weights, biases, batch-norm parameters and running
  statistics), the inner products of model_b's channel ``i`` with model_a's channel ``j``, the other
  axes already permuted by the current permutations of their sets. Sets are visited in a seeded random
  order until a sweep changes nothing. The step's solver is the linear assignment, or a restricted one
  (`eqlab.layerwise._cycles`) so that every permutation keeps the order constraint.
- **Activation matching**: run both models in eval mode on the same inputs, standardise every channel
  of the set's features (over batch and positions), and match the correlation matrix summed over
  the set's post-activation features and the pre-activation ones (layer and batch-norm outputs),
  which tell apart channels that the ReLU leaves dead on the data.

Both return permutations in eqlab's convention (`eqlab.groups.act`): ``perm[i]`` is the position that
model_b's channel ``i`` moves to, aligned with model_a's channel ``perm[i]``; and each set's final cost
matrix ``(n, n)``, from which `eqlab.layerwise._cycles.gap` measures the price of a constraint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import fx, nn

from eqlab.layerwise._checks import describe, device_of, forward, input_batches
from eqlab.layerwise._cycles import linear_assignment
from eqlab.layerwise._permute import permute_tensor
from eqlab.layerwise._spec import ChannelSet, PermutationSpec

__all__ = ["activation_matching", "batches", "collect_features", "weight_matching"]

Solver = Callable[[np.ndarray], np.ndarray]
"""An assignment step: ``cost (n, n) -> perm (n,)`` with a large ``sum_i cost[i, perm[i]]``."""

Matching = tuple[list[torch.Tensor], list[np.ndarray]]
"""One permutation ``(n,)`` per channel set, and the set's final cost matrix ``(n, n)``."""

_linear = linear_assignment


def _channel_rows(tensor: torch.Tensor, axis: int, block: int) -> torch.Tensor:
    """``(channels, rest)``: the tensor with ``axis`` (in blocks of ``block``) moved first and flattened."""
    moved = tensor.movedim(axis, 0)
    return moved.reshape(moved.shape[0] // block, -1)


def _cost(
    channels: ChannelSet,
    axes: dict[str, list[tuple[int, int, int]]],
    a64: dict[str, torch.Tensor],
    b64: dict[str, torch.Tensor],
    perms: list[torch.Tensor],
    settled: set[int] | None = None,
) -> torch.Tensor:
    """``cost[i, j] = sum over members of <b's channel i, a's channel j>``, b's other axes permuted by
    ``perms``; with ``settled``, only members whose other axes all belong to settled sets count."""
    cost = torch.zeros(channels.size, channels.size, dtype=torch.float64)
    for member in channels.members:
        others = [(ax, g, blk) for ax, g, blk in axes[member.key] if ax != member.axis]
        if settled is not None and not all(g in settled for _, g, _ in others):
            continue
        b = permute_tensor(b64[member.key], others, perms)
        a_rows = _channel_rows(a64[member.key], member.axis, member.block)
        cost += _channel_rows(b, member.axis, member.block) @ a_rows.T
    return cost


def weight_matching(
    spec: PermutationSpec,
    state_a: dict[str, torch.Tensor],
    state_b: dict[str, torch.Tensor],
    max_sweeps: int = 100,
    seed: int = 0,
    solver: Solver | None = None,
) -> Matching:
    """One permutation per channel set maximising the summed inner product of ``state_a`` and permuted
    ``state_b`` (both ``state_dict``\\ s of the same architecture), and the sets' final cost matrices;
    ``solver(cost) -> perm`` is the assignment step (default: the linear assignment).

    The first sweep goes in forward order and matches each set on the members whose other axes are
    already settled (the first layer's input is fixed), so a network compared with its own flipped copy
    is not held at the identity by their correlation; then seeded random sweeps until nothing changes.
    """
    solve = solver or _linear
    axes = spec.param_axes()
    a64 = {k: state_a[k].detach().double().cpu() for k in axes}
    b64 = {k: state_b[k].detach().double().cpu() for k in axes}
    sets = spec.channel_sets
    perms = [torch.arange(s.size) for s in sets]
    settled: set[int] = set()
    for index, channels in enumerate(sets):
        cost = _cost(channels, axes, a64, b64, perms, settled)
        perms[index] = torch.as_tensor(solve(cost.numpy()), dtype=torch.long)
        settled.add(index)
    rng = np.random.default_rng(seed)
    for _ in range(max_sweeps):
        changed = False
        for index in rng.permutation(len(sets)):
            cost = _cost(sets[index], axes, a64, b64, perms)
            new = torch.as_tensor(solve(cost.numpy()), dtype=torch.long)
            rows = torch.arange(sets[index].size)
            old_score, new_score = float(cost[rows, perms[index]].sum()), float(cost[rows, new].sum())
            if new_score > old_score + 1e-12 * max(1.0, abs(old_score)):
                perms[index] = new
                changed = True
        if not changed:
            break
    costs = [_cost(channels, axes, a64, b64, perms).numpy() for channels in sets]
    return perms, costs


def batches(data: Any, name: str = "data") -> Iterator[torch.Tensor]:
    """Input batches from a tensor (one batch), an ``(x, y)`` pair, or a DataLoader / iterable of tensors
    or ``(x, y)``; each is checked, and errors name the argument ``name``."""
    return input_batches(data, name)


class _Recorder(fx.Interpreter):
    def __init__(self, graph: fx.GraphModule, names: set[str]) -> None:
        super().__init__(graph)
        self.names = names
        self.values: dict[str, torch.Tensor] = {}

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        if n.name in self.names:
            self.values[n.name] = result.detach()
        return result


def collect_features(
    model: nn.Module, spec: PermutationSpec, names: Sequence[str], data: Any, data_name: str = "data"
) -> dict[str, torch.Tensor]:
    """``node name -> (N, C, ...)`` outputs of the traced nodes over all of ``data``, in eval mode
    (errors name the argument ``data_name``)."""
    graph = fx.GraphModule(model, spec.graph.graph)
    was_training = model.training
    model.eval()
    out: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    device = device_of(model)
    try:
        with torch.no_grad():
            for x in batches(data, data_name):
                recorder = _Recorder(graph, set(names))
                forward(recorder.run, x, data_name, device)
                for n in names:
                    out[n].append(recorder.values[n].cpu())
    finally:
        model.train(was_training)
    return {n: torch.cat(v) for n, v in out.items()}


def _standardised(features: torch.Tensor) -> torch.Tensor:
    """``(samples, C)``: each channel's values over batch and positions, mean 0 and variance 1."""
    rows = features.double().movedim(1, -1).reshape(-1, features.shape[1])
    rows = rows - rows.mean(dim=0)
    return rows / rows.std(dim=0).clamp_min(1e-12)


def checked_solver(solver: Solver | None, name: str = "solver") -> Solver:
    """``solver`` (default: the linear assignment), its answers checked to be permutations."""
    if solver is None:
        return _linear

    def solve(cost: np.ndarray) -> np.ndarray:
        perm = np.asarray(solver(cost))
        n = cost.shape[0]
        if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
            raise ValueError(
                f"{name} must return a permutation of 0..{n - 1} for an {n} x {n} cost matrix, "
                f"got {describe(perm)}: {perm.tolist() if perm.size <= 16 else '...'}"
            )
        return perm

    return solve


def activation_matching(
    spec: PermutationSpec, model_a: nn.Module, model_b: nn.Module, data: Any, solver: Solver | None = None
) -> Matching:
    """One permutation per channel set maximising the summed correlation of its features, and the sets'
    correlation matrices."""
    solve = solver or _linear
    names = sorted({n for s in spec.channel_sets for n in s.features})
    feats_a = collect_features(model_a, spec, names, data)
    feats_b = collect_features(model_b, spec, names, data)
    perms, costs = [], []
    for channels in spec.channel_sets:
        corr = torch.zeros(channels.size, channels.size, dtype=torch.float64)
        for name in channels.features:
            a, b = _standardised(feats_a[name]), _standardised(feats_b[name])
            corr += b.T @ a / a.shape[0]  # corr[i, j]: b's channel i with a's channel j
        perms.append(torch.as_tensor(solve(corr.numpy()), dtype=torch.long))
        costs.append(corr.numpy())
    return perms, costs
