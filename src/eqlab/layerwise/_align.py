"""`align` two networks, and `self_align` a network with its transformed self.

``self_align(model, t)`` is ``align(model, transform_network(model, t))``: the permutations ``pi_l``
with ``W_l ~ pi_l T(W_l) pi_{l-1}^-1`` (each acting by `eqlab.groups.act`). When they make the two equal
the network is *layerwise equivariant*: every feature map satisfies ``phi_l(t x) = pi_l t phi_l(x)``.
Channels fixed by ``pi_l`` then carry symmetric filters, channels swapped in pairs (or, for ``rot90``,
cycled in fours) carry transformed copies of each other. Constrained (``pi^m = id``, ``m`` the order of
``t``), the alignment feeds the exactly invariant `group_average`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from eqlab._arguments import flag, function, integer
from eqlab._arguments import module as check_module
from eqlab.layerwise._checks import check_inputs, same_architecture
from eqlab.layerwise._cycles import cycle_lengths, exact_width, gap, linear_assignment, restricted_assignment
from eqlab.layerwise._match import (
    Solver,
    activation_matching,
    checked_solver,
    collect_features,
    weight_matching,
)
from eqlab.layerwise._options import Method, Transform
from eqlab.layerwise._permute import permute_model
from eqlab.layerwise._spec import PermutationSpec, spec_of
from eqlab.layerwise._transform import transformed_network
from eqlab.testing import relative_error

__all__ = ["AlignResult", "CycleStructure", "SelfAlignResult", "align", "self_align", "self_aligned"]


@dataclass
class AlignResult:
    """The outcome of `align`: channel permutations that map ``model_b`` onto ``model_a``."""

    permutations: list[torch.Tensor]
    """One permutation, a LongTensor ``(n,)``, per set of tied hidden channels (``spec.channel_sets``),
    in eqlab's convention (`eqlab.groups.act`): model_b's channel ``i`` moves to position ``p[i]``,
    where it is aligned with model_a's channel ``p[i]``. ``aligned`` is model_b acted on by them."""
    errors: dict[str, float]
    """Per weighted layer (module name): ``|W_a - W_aligned| / |W_a|``, weights and bias together."""
    activation_errors: dict[str, float]
    """Per weighted layer, when data was given: ``|phi_a - phi_aligned| / |phi_a|`` of the layer's output
    ``(N, C, ...)`` over the data, in eval mode."""
    aligned: nn.Module
    """A copy of model_b with its channels, batch-norm parameters and statistics permuted: the same
    function as model_b."""
    spec: PermutationSpec
    """The permutation spec derived from model_a (which parameter axes each permutation moves)."""
    method: str
    """The matching used, a `Method`."""


@dataclass(frozen=True)
class CycleStructure:
    """How one channel set's self-alignment permutation decomposes, and what its constraint cost.

    ``gap`` is ``(upper - value) / |upper|`` for the set's final cost matrix (the neighbouring sets
    fixed): ``upper`` the unconstrained optimum (the linear assignment), ``value`` the permutation's.
    With ``solver == "exact"`` it is the price of the order constraint; with ``"heuristic"`` it bounds
    how far the permutation may be from the constrained optimum; unconstrained it is 0.
    """

    channels: str
    size: int
    fixed: int
    pairs: int
    four_cycles: int
    longer_cycles: int
    """Cycles longer than 2 (the 4-cycles among them)."""
    involution: bool
    order_divides: bool
    """Whether ``perm^m = id``, ``m`` the transform's order."""
    gap: float
    solver: str
    """``"linear assignment"`` (unconstrained), ``"exact"`` or ``"heuristic"`` (constrained)."""


@dataclass
class SelfAlignResult:
    """The outcome of `self_align`: the alignment of ``T(W)`` to ``W``, per-set cycle structure and gaps."""

    alignment: AlignResult
    """The `AlignResult` of ``model`` (model_a) and ``transformed`` (model_b)."""
    transform: str
    """The `Transform` ``t``."""
    transformed: nn.Module
    """``T(W)``, the network computing ``x -> model(t(x))``."""
    structure: list[CycleStructure]
    """One per channel set, in the order of ``alignment.permutations``: how its permutation decomposes
    (``channels`` names the set; ``size``, ``fixed`` points, ``pairs``, ``four_cycles``, ``longer_cycles``,
    ``involution``, whether ``order_divides``: ``perm^m = id`` for the transform's order ``m``) and what
    its constraint cost: ``gap = (upper - value) / |upper|`` against the unconstrained linear assignment,
    found by the ``solver`` (``"linear assignment"``, ``"exact"`` or ``"heuristic"``)."""

    @property
    def permutations(self) -> list[torch.Tensor]:
        """One LongTensor ``(n,)`` per channel set: ``pi`` with ``act(pi, T(W)) ~ W`` (`AlignResult`)."""
        return self.alignment.permutations

    @property
    def aligned(self) -> nn.Module:
        """``pi T(W)``: the transformed network with its channels aligned to the original."""
        return self.alignment.aligned

    @property
    def is_representation(self) -> bool:
        """Whether every permutation has order dividing the transform's (2 for flips, 4 for ``rot90``), the
        condition for an exactly invariant `group_average`."""
        return all(s.order_divides for s in self.structure)

    def table(self) -> str:
        """One row per weighted layer (weight and activation error) and one per channel set (its cycles,
        the gap to the unconstrained optimum and the solver)."""
        rows = [f"{'layer':20s} {'weight error':>13s} {'activation error':>17s}"]
        for layer, error in self.alignment.errors.items():
            act = self.alignment.activation_errors.get(layer)
            rows.append(f"{layer[:20]:20s} {error:13.3e} {'' if act is None else f'{act:.3e}':>17s}")
        order = Transform(self.transform).order
        rows.append(
            f"{'channels of':20s} {'size':>5s} {'fixed':>6s} {'pairs':>6s} {'4-cycles':>9s} {'longer':>7s} "
            f"{f'pi^{order}=id':>8s} {'gap':>10s}  solver"
        )
        for s in self.structure:
            rows.append(
                f"{s.channels[:20]:20s} {s.size:5d} {s.fixed:6d} {s.pairs:6d} {s.four_cycles:9d} "
                f"{s.longer_cycles:7d} {'yes' if s.order_divides else 'no':>8s} {s.gap:10.3e}  {s.solver}"
            )
        return "\n".join(rows)


def _layer_errors(spec: PermutationSpec, a: nn.Module, b: nn.Module) -> dict[str, float]:
    modules_a, modules_b = dict(a.named_modules()), dict(b.named_modules())
    errors = {}
    for name in spec.layers:
        pa = torch.cat([p.detach().double().reshape(-1) for p in modules_a[name].parameters()])
        pb = torch.cat([p.detach().double().reshape(-1) for p in modules_b[name].parameters()])
        errors[name] = relative_error(pb, pa, batched=False)
    return errors


def _activation_errors(spec: PermutationSpec, a: nn.Module, b: nn.Module, data: Any) -> dict[str, float]:
    names = [spec.layer_nodes[layer] for layer in spec.layers]
    fa, fb = collect_features(a, spec, names, data), collect_features(b, spec, names, data)
    return {
        layer: relative_error(fb[n], fa[n], batched=False)
        for layer, n in zip(spec.layers, names, strict=True)
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
    model_a, model_b
        Networks of one architecture (anything the permutation spec traces: Conv2d, Linear, BatchNorm,
        pointwise activations, pooling, flatten, residual additions).
    method
        A `Method`: ``"weights"`` (weight matching) or ``"activations"`` (correlations of the channels'
        features on ``data``, eval mode).
    data
        Inputs ``(N, C, H, W)``: a tensor, an ``(x, y)`` pair or a DataLoader; needed for
        ``"activations"``, and used for the activation errors.
    solver
        The assignment step ``cost (n, n) -> perm (n,)`` maximising ``sum_i cost[i, perm[i]]``, where
        ``cost[i, j]`` scores model_b's channel ``i`` at model_a's channel ``j``; default the linear
        assignment.
    seed
        Seeds the order in which weight matching visits the channel sets.

    Returns
    -------
    AlignResult
        The permutations (``act(p, model_b) ~ model_a``), per-layer errors and the aligned copy.
    """
    check_module(model_a, "model_a")
    check_module(model_b, "model_b")
    method = Method.parse(method, "method")
    if solver is not None:
        function(solver, "solver")
    seed = integer(seed, "seed", minimum=0)
    if data is not None:
        check_inputs(data)
    spec = spec_of(model_a, "model_a")
    sizes_b = [s.size for s in spec_of(model_b, "model_b").channel_sets]
    if sizes_b != [s.size for s in spec.channel_sets]:
        raise ValueError("model_a and model_b must have the same architecture (their channel sets differ)")
    same_architecture([("model_a", model_a), ("model_b", model_b)])
    return _align(spec, model_a, model_b, method, data, checked_solver(solver), seed)[0]


def _align(
    spec: PermutationSpec,
    model_a: nn.Module,
    model_b: nn.Module,
    method: Method,
    data: Any,
    solve: Solver,
    seed: int,
) -> tuple[AlignResult, list[np.ndarray]]:
    """`align` with the spec given and the arguments checked; also each set's final cost matrix."""
    if method is Method.WEIGHTS:
        state_a, state_b = model_a.state_dict(), model_b.state_dict()
        perms, costs = weight_matching(spec, state_a, state_b, seed=seed, solver=solve)
    else:
        if data is None:
            raise ValueError("method='activations' needs data (a tensor of inputs or a DataLoader)")
        perms, costs = activation_matching(spec, model_a, model_b, data, solver=solve)
    aligned = permute_model(model_b, spec, perms)
    act_errors = _activation_errors(spec, model_a, aligned, data) if data is not None else {}
    errors = _layer_errors(spec, model_a, aligned)
    return AlignResult(perms, errors, act_errors, aligned, spec, method), costs


def _structure(
    name: str, perm: torch.Tensor, cost: np.ndarray, order: int, constrained: bool
) -> CycleStructure:
    lengths = cycle_lengths(perm)
    found = gap(cost, perm.numpy())
    if not constrained:
        solver = "linear assignment"
    elif found == 0.0 or perm.numel() <= exact_width(order):
        solver = "exact"  # the unconstrained optimum obeys the constraint, or the exact solver ran
    else:
        solver = "heuristic"
    return CycleStructure(
        channels=name,
        size=perm.numel(),
        fixed=lengths.count(1),
        pairs=lengths.count(2),
        four_cycles=lengths.count(4),
        longer_cycles=sum(1 for v in lengths if v > 2),
        involution=all(v <= 2 for v in lengths),
        order_divides=all(order % v == 0 for v in lengths),
        gap=found,
        solver=solver,
    )


def self_align(
    model: nn.Module,
    transform: str,
    method: str = "weights",
    data: Any = None,
    *,
    involution: bool = False,
    input_size: int | None = None,
    seed: int = 0,
    constrain: bool | None = None,
) -> SelfAlignResult:
    """`align` ``model`` with ``transform_network(model, transform)`` and describe the permutations.

    The permutation spec is derived once (one `torch.fx` trace) and shared by the transform and the
    alignment.

    Parameters
    ----------
    model
        A CNN taking images ``(N, C, H, W)`` (what `transform_network` takes).
    transform
        A `Transform`: ``"hflip"``, ``"vflip"`` or ``"rot90"``.
    method, data, seed
        As in `align`; ``data`` holds inputs ``(N, C, H, W)``.
    involution
        For flips: constrain every permutation to an involution, ``pi^2 = id`` (``constrain=True``).
    input_size
        When given, the transform is checked to be exact at this square input size (`transform_network`).
    constrain
        Constrain every permutation to ``pi^m = id``, ``m`` the transform's order, the condition for an
        exactly invariant `group_average`: cycles of length 1 or 2 for flips, 1, 2 or 4 for ``rot90``.
        Each coordinate-descent step then solves the restricted assignment given the neighbouring sets:
        exactly up to 128 channels for flips (a maximum-weight matching) and 24 for ``rot90`` (an integer
        program), by a heuristic above, whose gap to the unconstrained optimum ``structure`` reports.
        Default: constrained for ``rot90``, unconstrained for flips (the plain alignment of Bökman & Kahl,
        which shows how far the network is from layerwise equivariance) unless ``involution``.

    Returns
    -------
    SelfAlignResult
        The alignment, ``T(W)``, and per channel set the cycle structure, the gap and the solver used.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ...                     nn.Linear(4, 2))
    >>> result = self_align(net, "rot90")
    >>> result.is_representation
    True
    """
    check_module(model, "model")
    transform = Transform.parse(transform, "transform")
    method = Method.parse(method, "method")
    involution = flag(involution, "involution")
    if constrain is not None:
        constrain = flag(constrain, "constrain")
    if input_size is not None:
        integer(input_size, "input_size", minimum=1)
    seed = integer(seed, "seed", minimum=0)
    if method is Method.ACTIVATIONS and data is None:
        raise ValueError("method='activations' needs data (a tensor of inputs or a DataLoader)")
    if data is not None:
        check_inputs(data)
    if involution and transform is Transform.ROT90:
        raise ValueError(
            "involution=True needs an order-2 transform (hflip or vflip), got 'rot90', whose alignments are "
            "constrained to pi^4 = id (constrain=True, the default for rot90)"
        )
    if involution and constrain is False:
        raise ValueError("involution=True constrains the permutations, which constrain=False forbids")
    constrained = involution or (transform is Transform.ROT90 if constrain is None else constrain)
    spec = spec_of(model, "model")  # the one trace
    return self_aligned(model, transform, spec, method, data, constrained, input_size, seed)


def self_aligned(
    model: nn.Module,
    transform: Transform,
    spec: PermutationSpec,
    method: Method,
    data: Any,
    constrained: bool,
    input_size: int | None = None,
    seed: int = 0,
) -> SelfAlignResult:
    """`self_align` with ``model``'s spec given (the one trace) and the arguments checked."""
    order = transform.order
    transformed = transformed_network(model, transform, spec, input_size)

    def restricted(cost: np.ndarray) -> np.ndarray:
        return restricted_assignment(cost, order)

    solve = restricted if constrained else linear_assignment
    result, costs = _align(spec, model, transformed, method, data, solve, seed)
    structure = [
        _structure(channels.name, perm, cost, order, constrained)
        for channels, perm, cost in zip(spec.channel_sets, result.permutations, costs, strict=True)
    ]
    return SelfAlignResult(result, transform, transformed, structure)
