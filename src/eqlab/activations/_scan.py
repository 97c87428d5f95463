"""`scan`: find the activations of a model that break its equivariance, say why, and measure the model.

The scan traces the model (`eqlab.trace`: leaf modules, functions such as ``F.relu`` and tensor methods
such as ``x.tanh()`` alike) and follows the representation acting on each tensor through the graph:

- `RepLinear` outputs carry ``rep_out`` (its ``rep_in`` must match the representation it receives);
- `EquivariantLinear` outputs are permuted by its output generators; the size-generic `SetLinear` /
  `GraphLinear` permute their outputs as their inputs (or, for pairs, as the tuples);
- group convolutions (`LiftingConv2d`, `GroupConv2d`) carry the regular representation of the point
  group on the orientation axis (with the spatial permutation, still a permutation);
- `GroupPool` pools the orientations away, `OrbitPool` leaves invariant features; dropout, reshapes
  that keep the acted-on axis, and scaling by a number keep the representation; anything computed
  from invariant features alone is invariant;
- a pointwise activation keeps the representation when it commutes with it.

Every pointwise activation is judged by `eqlab.activations._check` against the representation it acts
on. Any other op (``nn.Linear`` on equivariant features, a flip, an unknown function) makes the
representation unknown, and the activations after it, and the output, are reported as unchecked.

**Measured end to end.** When the input representation acts on the model's input (a ``(B, n)`` vector,
or ``(B, n, C)`` for channelled layers) and the output's representation is known, the scan measures the
model's output in float64 for every generator, ``|f(M_in x) - M_out f(x)|``; an error above
`MEASURED_TOLERANCE` is a finding, and ``ok`` is False.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from eqlab._arguments import describe, module
from eqlab.activations._check import MEASURED_TOLERANCE, ActivationCheck, check
from eqlab.activations._classes import as_matrices
from eqlab.exactness._layout import GROUP, IMAGE
from eqlab.exactness._measure import INPUT_SCALES, act, end_to_end, input_batches
from eqlab.exactness._rules import analyse
from eqlab.exactness._symmetry import symmetry
from eqlab.gconv._conv import GroupConv2d, LiftingConv2d
from eqlab.gconv._pool import GroupAvgPool2d, GroupBatchNorm2d, GroupMaxPool2d, GroupPool
from eqlab.groups._catalogue import on_tuples, symmetric, tuple_permutations
from eqlab.groups._group import Action, Group
from eqlab.groups._representation import Representation
from eqlab.nn._replinear import RepLinear
from eqlab.sharing._ign import SymmetricLinear
from eqlab.sharing._linear import EquivariantLinear
from eqlab.sharing._mlp import OrbitPool
from eqlab.testing import relative_error
from eqlab.trace import TracedModel, TracedNode, TraceFailure, trace_model
from eqlab.trace._vocabulary import OPS

__all__ = ["POINTWISE", "ScanEntry", "ScanReport", "scan"]

POINTWISE: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.CELU, nn.SELU, nn.GELU, nn.SiLU, nn.Mish, nn.Sigmoid,
    nn.Tanh, nn.Softplus, nn.Softsign, nn.Hardtanh, nn.ReLU6, nn.Hardswish, nn.Hardsigmoid,
    nn.LogSigmoid, nn.Tanhshrink, nn.Softshrink, nn.Hardshrink, nn.Threshold, nn.RReLU,
)  # fmt: skip
"""Module types treated as pointwise activations."""


_KEEP_MODULES = (nn.Dropout, nn.Identity, GroupMaxPool2d, GroupAvgPool2d, GroupBatchNorm2d)


@dataclass(frozen=True)
class ScanEntry:
    """One finding: an activation checked (or not), a layer receiving the wrong representation, or the
    output whose representation is unknown.

    Attributes
    ----------
    name
        The node's name in the traced model (a module path such as ``"body.1"``, or ``"path:relu"`` for
        a function).
    module
        Its module class or function name.
    acts_on
        What the representation acting on its input is, in words.
    equivariant
        ``True``/``False``, or ``None`` when undecided or the representation is unknown.
    reason
        Why, in one or two sentences.
    check
        The full `ActivationCheck`, for activations that were checked.
    """

    name: str
    module: str
    acts_on: str
    equivariant: bool | None
    reason: str
    check: ActivationCheck | None = None


@dataclass(frozen=True)
class ScanReport:
    """All findings of `scan`, in graph order, and the end-to-end measurement."""

    entries: tuple[ScanEntry, ...]
    """The findings, each with ``name`` (the node in the traced model: a module path such as
    ``"body.1"``, or ``"path:relu"`` for a function), ``module`` (its class or function name),
    ``acts_on`` (the representation on its input, in words), ``equivariant`` (``True``, ``False``, or
    ``None`` when undecided or the representation is unknown), ``reason``, and ``check`` (the
    `ActivationCheck` of an activation that was checked, else ``None``)."""
    end_to_end_error: float | None = None
    """``max_g |f(M_in(g) x) - M_out(g) f(x)| / |M_out(g) f(x)|`` over the generators, float64, or
    ``None`` when it could not be measured (see ``measured``)."""
    measured: str = ""
    """How the model was measured, or why it was not."""

    @property
    def ok(self) -> bool:
        """No finding breaks or leaves equivariance undecided, and the model's output was measured with an
        error of at most 1e-12 (a model that could not be measured is never ok)."""
        measured_ok = self.end_to_end_error is not None and self.end_to_end_error <= MEASURED_TOLERANCE
        return all(e.equivariant for e in self.entries) and measured_ok

    @property
    def broken(self) -> list[ScanEntry]:
        """The findings that break equivariance."""
        return [e for e in self.entries if e.equivariant is False]

    @property
    def unchecked(self) -> list[ScanEntry]:
        """Findings whose representation is unknown, or whose verdict is undecided."""
        return [e for e in self.entries if e.equivariant is None]

    def table(self) -> str:
        """A plain-text table, one line per finding, and the measurement."""
        lines = [f"{'module':<24} {'type':<16} {'verdict':<14} reason"]
        for e in self.entries:
            verdict = {True: "equivariant", False: "BREAKS", None: "unchecked"}[e.equivariant]
            lines.append(f"{e.name:<24} {e.module:<16} {verdict:<14} {e.reason}")
        error = "not measured" if self.end_to_end_error is None else f"{self.end_to_end_error:.2e}"
        lines.append(f"end-to-end error (float64): {error}; {self.measured}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Rep:
    """The representation acting on one tensor: generator matrices on one axis, or invariance."""

    description: str
    matrices: np.ndarray | None  # (k, n, n); None when unknown
    axis: int | None = -1  # the axis they act on; None when they act on several (pairs, space)
    invariant: bool = False


_UNKNOWN = _Rep("unknown", None, None)
_INVARIANT = _Rep("trivial (invariant features)", np.ones((1, 1, 1)), None, True)


def _as_rep(rep: Any) -> _Rep:
    if isinstance(rep, Representation):
        return _Rep(rep.name, np.asarray(rep.generators))
    if isinstance(rep, (Action, Group)):
        perm = Representation.from_permutations(rep)
        return _Rep(perm.name, np.asarray(perm.generators))
    mats = as_matrices(rep, "input_rep")
    return _Rep(f"{mats.shape[-1]}-dimensional representation", mats)


def _permutation_rep(perms: np.ndarray, description: str, axis: int | None) -> _Rep:
    return _Rep(description, np.asarray(Representation.from_permutations(perms).generators), axis)


def _as_permutations(matrices: np.ndarray) -> np.ndarray | None:
    """The permutations behind permutation matrices ``(k, n, n)``, or ``None``."""
    if not np.all(np.isin(matrices, (0.0, 1.0))) or not np.all(matrices.sum(axis=1) == 1):
        return None
    return np.argmax(matrices, axis=1).astype(np.int64)  # column i has its 1 at row p[i]


@dataclass
class _Walk:
    reps: dict[str, _Rep]
    entries: list[ScanEntry]
    unknown_after: str = ""

    def rep(self, value: Any) -> _Rep:
        if isinstance(value, TracedNode):
            return self.reps.get(value.name, _UNKNOWN)
        return _INVARIANT

    def unknown(self, node: TracedNode) -> _Rep:
        if not self.unknown_after:
            self.unknown_after = f"{node.name} ({node.op})"
        return _UNKNOWN


def _data(node: TracedNode) -> TracedNode | None:
    value = node.arg("input")
    if isinstance(value, TracedNode):
        return value
    return node.inputs[0] if node.inputs else None


_LAYERS = (RepLinear, EquivariantLinear, SymmetricLinear, LiftingConv2d, GroupConv2d)


def _module_rep(walk: _Walk, node: TracedNode, current: _Rep) -> _Rep:
    m = node.module
    if isinstance(m, _LAYERS) and current.matrices is None:
        reason = (
            "its input's representation is unknown (it follows "
            f"{walk.unknown_after or 'an op without a rule'}), so its output's is too."
        )
        walk.entries.append(ScanEntry(node.name, node.op, "unknown", None, reason))
        return _UNKNOWN
    if isinstance(m, RepLinear):
        problem = _mismatch(m, current)
        if problem:
            walk.entries.append(ScanEntry(node.name, node.op, current.description, False, f"{problem}."))
        return _Rep(m.rep_out.name, np.asarray(m.rep_out.generators), -1)
    if isinstance(m, EquivariantLinear):
        return _permutation_rep(
            m.out_generators, f"permutations of {m.out_features} outputs", -2 if m.channelled else -1
        )
    if isinstance(m, SymmetricLinear):
        if m.out_order == 0:
            return _INVARIANT
        perms = _as_permutations(current.matrices) if current.matrices is not None else None
        if m.in_order == 1 and m.out_order == 1 and perms is not None and current.axis == -2:
            return _Rep(current.description, current.matrices, -2)
        if perms is not None and m.in_order == 1:
            return _permutation_rep(
                tuple_permutations(perms, m.out_order), f"{current.description} on pairs", None
            )
        tuples = on_tuples(symmetric(4), m.out_order)
        return _permutation_rep(tuples.generators[0], f"S_n on {m.out_order}-tuples (checked with n=4)", None)
    if isinstance(m, (LiftingConv2d, GroupConv2d)):
        return _permutation_rep(
            m.group.table.numpy(),
            f"regular representation of {m.group.name} (with spatial permutations)",
            None,
        )
    if isinstance(m, OrbitPool):
        return _INVARIANT
    if isinstance(m, GroupPool):
        return _Rep("trivial on orientations (spatial permutations remain)", np.ones((1, 1, 1)), None)
    if isinstance(m, (*_KEEP_MODULES, *POINTWISE)):
        return current
    if isinstance(m, nn.Flatten):
        return _reshaped(walk, node, current)
    if current.invariant and all(walk.rep(i).invariant for i in node.inputs):
        return _INVARIANT
    return walk.unknown(node)


def _reshaped(walk: _Walk, node: TracedNode, current: _Rep) -> _Rep:
    data = _data(node)
    if current.invariant:
        return _INVARIANT
    if data is None or data.shape is None or node.shape is None or current.axis is None:
        return walk.unknown(node)
    before, after = tuple(data.shape), tuple(node.shape)
    axis = current.axis
    if after[axis:] == before[axis:] or (axis == -1 and after[-1] == before[-1]):
        return current
    if axis == -1 and after[-2:] == (before[-1], 1):
        return _Rep(current.description, current.matrices, -2)
    return walk.unknown(node)


def _function_rep(walk: _Walk, node: TracedNode, current: _Rep) -> _Rep:
    op = node.op
    if node.shape is None and not node.is_tuple:
        return _INVARIANT  # a shape or a number
    if op in OPS.pass_through:
        return current
    if op in OPS.reshapes:
        return _reshaped(walk, node, current)
    reps = [walk.rep(i) for i in node.inputs]
    if reps and all(r.invariant for r in reps):
        return _INVARIANT
    if op in ("add", "sub", "mul", "div", "rsub"):
        moving = [r for r in reps if not r.invariant]
        numbers = [v for k, v in node.args.items() if isinstance(v, (int, float)) and k not in ("alpha",)]
        if len(node.inputs) == 1 and numbers and moving and moving[0].matrices is not None:
            first_argument = next(iter(node.args.values()), None)
            scaled = op == "mul" or (op == "div" and isinstance(first_argument, TracedNode))  # not 2 / x
            perms = _as_permutations(moving[0].matrices) is not None
            return moving[0] if scaled or perms or all(n == 0 for n in numbers) else walk.unknown(node)
        if len(moving) == len(reps) and op in ("add", "sub") and len(moving) > 1:
            first = moving[0]
            same = all(
                r.matrices is not None and first.matrices is not None and r.axis == first.axis
                and r.matrices.shape == first.matrices.shape and np.allclose(r.matrices, first.matrices)
                for r in moving
            )  # fmt: skip
            return first if same else walk.unknown(node)
    if op == "linear" and current.invariant:
        return _INVARIANT
    return walk.unknown(node)


def _activation_call(view: TracedModel, node: TracedNode) -> Any:
    """The node as a function of its data input, for `check` (module nodes are their module)."""
    data = _data(node)
    if node.kind == "module":
        return node.module
    return None if data is None else view.call_alone(node, data)


def _is_activation(node: TracedNode) -> bool:
    if node.kind == "module":
        return isinstance(node.module, POINTWISE)
    return node.op in OPS.activations and len(node.inputs) <= 1


def _mismatch(module: RepLinear, current: _Rep) -> str | None:
    expected = np.asarray(module.rep_in.generators)
    got = current.matrices
    if got is None or current.invariant:
        return None
    if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-9):
        return (
            f"its rep_in ({module.rep_in.name}, generators {expected.shape}) differs from the representation "
            f"of its input ({current.description}, {got.shape})"
        )
    return None


def _candidate_inputs(model: nn.Module, rep: _Rep) -> list[tuple[torch.Tensor, int | None]]:
    """Inputs to trace with, and the axis the input representation acts on (``None``: not at all)."""
    n = rep.matrices.shape[-1] if rep.matrices is not None else 1
    first = next((m for m in model.modules() if not list(m.children())), model)
    out: list[tuple[torch.Tensor, int | None]] = []
    if isinstance(first, GroupConv2d):
        out.append((torch.zeros(1, first.in_channels, first.group.order, 9, 9), None))
    elif isinstance(first, (LiftingConv2d, nn.Conv2d)):
        out.append((torch.zeros(1, first.in_channels, 9, 9), None))
    elif isinstance(first, EquivariantLinear) and first.channelled:
        out.append((torch.zeros(2, n, first.in_channels), -2))
    elif isinstance(first, SymmetricLinear):
        side = n if first.in_order == 1 else math.isqrt(n)
        out.append(
            (
                torch.zeros(2, *([side] * first.in_order), first.in_channels),
                -2 if first.in_order == 1 else None,
            )
        )
    out.append((torch.zeros(2, n), -1))
    return out


def _apply(matrix: np.ndarray, x: torch.Tensor, axis: int) -> torch.Tensor:
    m = torch.tensor(np.array(matrix), dtype=x.dtype)
    return torch.movedim(torch.movedim(x, axis, -1) @ m.T, -1, axis)


def _measure(
    model: nn.Module, x_shape: torch.Size, rep_in: _Rep, axis: int, rep_out: _Rep
) -> tuple[float | None, str]:
    if rep_in.matrices is None:
        return None, "not measured: the input representation is unknown"
    if not rep_out.invariant and (rep_out.matrices is None or rep_out.axis is None):
        return None, "not measured: the output's representation is not known on one axis"
    if (
        not rep_out.invariant
        and rep_out.matrices is not None
        and rep_out.matrices.shape[0] != rep_in.matrices.shape[0]
    ):
        return None, "not measured: the output's representation has another number of generators"
    probe = copy.deepcopy(model).double().eval()
    worst = 0.0
    with torch.no_grad():
        for x in input_batches(tuple(x_shape), 8, torch.Generator().manual_seed(0)):
            fx = probe(x)
            if not isinstance(fx, torch.Tensor):
                return None, f"not measured: the model returns {type(fx).__name__}"
            for j, m_in in enumerate(rep_in.matrices):
                moved = probe(_apply(m_in, x, axis))
                expected = fx if rep_out.invariant else _apply(rep_out.matrices[j], fx, rep_out.axis)  # type: ignore[index,arg-type]
                error = relative_error(moved, expected) if moved.shape == expected.shape else math.inf
                worst = error if not error <= worst else worst
    where = "invariant output" if rep_out.invariant else f"output on axis {rep_out.axis}"
    scales = " and ".join(INPUT_SCALES)
    return (
        worst,
        f"measured on 8 random {scales} inputs for each of {len(rep_in.matrices)} generators ({where})",
    )


def _measure_images(model: nn.Module, view: TracedModel) -> tuple[float | None, str]:
    """For a model of eqlab's group layers on images: the output error under their point group (the
    input representation does not act on images, the point group does), measured on the model as given."""
    groups = {m.group.name for m in model.modules() if isinstance(m, (LiftingConv2d, GroupConv2d))}
    if len(groups) != 1:
        return None, "not measured: the input representation does not act on the model's input tensor"
    group = groups.pop()
    sym = symmetry(group)
    shape = tuple(view.input.shape or ())
    layout = GROUP if len(shape) == 5 else IMAGE
    action_in = act(layout, sym, group)
    action_out = act(analyse(view, sym, layout).output, sym, group)
    if action_in is None or action_out is None:
        return None, f"not measured: how the {group} point group moves the output is unknown"
    probe = copy.deepcopy(model).double().eval()
    worst = 0.0
    for x in input_batches(shape, 2, torch.Generator().manual_seed(0)):
        error, _element, _note = end_to_end(probe, x, sym, action_in, action_out)
        worst = error if not error <= worst else worst
    return worst, f"measured for the {group} point group on {shape[-2]}x{shape[-1]} images, model as given"


def scan(model: nn.Module, input_rep: Any, example_input: torch.Tensor | None = None) -> ScanReport:
    """Trace ``model``, check every pointwise activation against the representation it acts on, and
    measure the output end to end where the input representation allows it.

    Parameters
    ----------
    model
        A model built from eqlab layers, pointwise activations (modules or functions) and other ops.
    input_rep
        The representation on the model's input: an `eqlab.groups.Representation`, ``(k, n, n)`` matrices,
        or an `eqlab.groups.Action` / single-set `eqlab.groups.Group` acting by permutations.
    example_input
        An input to trace with (its shape only); by default one is made from the first layer
        (``(2, n)`` vectors, ``(2, n, C)`` for channelled layers, small images for convolutions).

    Returns
    -------
    ScanReport
        One finding per activation (and per layer reached by a representation it does not expect), in
        graph order, and the end-to-end measurement; ``.ok`` only when nothing breaks or is undecided and
        the output was measured equivariant; ``.table()`` prints it.

    Examples
    --------
    A ReLU after a layer on the 90-degree rotation of the plane breaks equivariance; tanh does not.

    >>> rot = Representation.rotation(4)
    >>> report = scan(nn.Sequential(RepLinear(rot, rot), nn.ReLU(), RepLinear(rot, rot), nn.Tanh()), rot)
    >>> [e.equivariant for e in report.entries], report.end_to_end_error > 1e-3
    ([False, True], True)
    """
    module(model, "model")
    rep_in = _as_rep(input_rep)
    if example_input is not None and not isinstance(example_input, torch.Tensor):
        raise TypeError(f"example_input must be a torch.Tensor or None, got {describe(example_input)}")
    candidates = (
        [(example_input, -1 if example_input.dim() == 2 else -2 if example_input.dim() == 3 else None)]
        if example_input is not None
        else _candidate_inputs(model, rep_in)
    )
    probe = copy.deepcopy(model).double().eval()
    failures: list[str] = []
    view: TracedModel | None = None
    axis: int | None = None
    for x, candidate_axis in candidates:
        try:
            view = trace_model(probe, x.double())
        except (TraceFailure, ValueError) as exc:
            failures.append(f"input {tuple(x.shape)}: {exc}")
            continue
        axis = candidate_axis
        break
    if view is None:
        entry = ScanEntry("model", type(model).__name__, rep_in.description, None, "; ".join(failures))
        return ScanReport((entry,), None, "not measured: the model could not be traced; pass example_input")
    walk = _Walk({}, [])
    start = _Rep(rep_in.description, rep_in.matrices, axis)
    output = _UNKNOWN
    for node in view.nodes:
        if node.kind == "input":
            walk.reps[node.name] = start
            continue
        if node.kind == "attribute":
            walk.reps[node.name] = _INVARIANT
            continue
        if node.kind == "output":
            output = walk.rep(
                node.arg("input") if not isinstance(node.arg("input"), tuple) else node.arg("input")[0]
            )
            continue
        data = _data(node)
        current = walk.rep(data) if data is not None else _INVARIANT
        if _is_activation(node):
            walk.entries.append(_judge(view, node, current, walk.unknown_after))
            walk.reps[node.name] = current if current.matrices is not None else walk.unknown(node)
            continue
        rep = (
            _module_rep(walk, node, current) if node.kind == "module" else _function_rep(walk, node, current)
        )
        walk.reps[node.name] = rep
    if output.matrices is None:
        walk.entries.append(
            ScanEntry(
                "output",
                "output",
                "unknown",
                None,
                "the output's representation is unknown: it follows "
                f"{walk.unknown_after or 'an op without a rule'}.",
            )
        )
        return ScanReport(tuple(walk.entries), None, "not measured: the output's representation is unknown")
    if axis is None:
        error, how = _measure_images(model, view)
        return ScanReport(
            tuple(walk.entries),
            error,
            how,
        )
    error, how = _measure(model, view.input.shape or torch.Size(), start, axis, output)
    return ScanReport(tuple(walk.entries), error, how)


def _judge(view: TracedModel, node: TracedNode, current: _Rep, unknown_after: str) -> ScanEntry:
    if current.matrices is None:
        reason = f"it follows {unknown_after}, which no rule covers, so its representation is unknown."
        return ScanEntry(node.name, node.op, "unknown", None, reason)
    call = _activation_call(view, node)
    if call is None:
        return ScanEntry(
            node.name, node.op, current.description, None, "it reads other tensors; not checked."
        )
    try:
        verdict = check(current.matrices, call)
    except TypeError as exc:  # not an entry-wise function (a channel-wise PReLU, say)
        return ScanEntry(node.name, node.op, current.description, None, f"{exc}; not checked.")
    return ScanEntry(node.name, node.op, current.description, verdict.equivariant, verdict.reason, verdict)
