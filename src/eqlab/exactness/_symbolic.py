"""The grid analysis for many input sizes at once, from one trace, without a forward pass per size.

The rules of `eqlab.exactness._rules` run once, on a graph traced at one *reference* size. The geometry
they read (kernels, strides, paddings, slices, output sizes) does not depend on the input size, so this
module replays it over a whole array of square sizes with numpy: each node's plane ``(H, W)`` becomes a
pair of integer arrays, each row's offset an array, and the answer two boolean arrays, where the model
runs and where every sampling grid maps onto itself.

Shape arithmetic in the model (``x.shape[-2:]``, ``x.size(0)``, ``h // 2``) is replayed too, with arrays
for the plane's sizes, so an interpolation to a skip connection's size follows that skip. What cannot be
replayed raises `NotSymbolic` and the caller traces per size instead: a graph from torch.export (its
shapes are specialised to the reference), shape arithmetic with other ops, slices or paddings computed
from shapes, or a node that changes the plane without a rule.

Conservative where the model is: a head that fixes the input size (a dense layer reading flattened
positions, a reshape to a literal size, a flatten that needs a 1 x 1 plane) keeps only the sizes at which
it runs, and is named in `SizeScan.notes`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch.fx as fx

from eqlab.exactness._grid import adaptive_offset, pool_offset, resize_offset
from eqlab.exactness._layout import Analysis, LayerExactness, data_input
from eqlab.exactness._symmetry import Symmetry
from eqlab.trace import TracedModel, TracedNode
from eqlab.trace._vocabulary import OPS

__all__ = ["NotSymbolic", "SizeScan", "scan_sizes", "understood_output"]

Plane = tuple[np.ndarray, np.ndarray]


class NotSymbolic(Exception):
    """The graph cannot be replayed over sizes; the message says which node and why."""


@dataclass
class SizeScan:
    """The grid analysis over an array of square input sizes."""

    sizes: np.ndarray
    """``(S,)`` the candidate heights (= widths)."""
    runs: np.ndarray
    """``(S,)`` bool: every node gets a valid input (windows fit, operands agree, dense layers match)."""
    exact: np.ndarray
    """``(S,)`` bool: the model runs and every row's sampling grid maps onto itself."""
    notes: list[str] = field(default_factory=list)
    """Nodes that fix the input size, or read sizes from the data, in words."""


_ARITHMETIC: dict[Any, Callable[..., Any]] = {
    operator.add: operator.add,
    operator.sub: operator.sub,
    operator.mul: operator.mul,
    operator.floordiv: operator.floordiv,
    operator.mod: operator.mod,
    operator.neg: operator.neg,
    operator.getitem: operator.getitem,
}


@dataclass
class _State:
    sizes: np.ndarray
    symmetry: Symmetry
    analysis: Analysis
    view: TracedModel
    planes: dict[str, Plane] = field(default_factory=dict)
    flats: dict[str, tuple[int, np.ndarray, np.ndarray]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # replayed shape arithmetic
    runs: np.ndarray = field(default_factory=lambda: np.ones(0, bool))
    exact: np.ndarray = field(default_factory=lambda: np.ones(0, bool))
    notes: list[str] = field(default_factory=list)
    by_fx: dict[fx.Node, TracedNode] = field(default_factory=dict)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def scan_sizes(view: TracedModel, analysis: Analysis, symmetry: Symmetry, sizes: Sequence[int]) -> SizeScan:
    """Replay ``analysis`` (made on ``view`` at its traced size) over the square ``sizes``.

    Raises
    ------
    NotSymbolic
        When some node cannot be replayed (see the module docstring).
    """
    if view.method != "fx":
        raise NotSymbolic("the graph comes from torch.export, whose shapes are specialised to one size")
    n = np.asarray(list(sizes), dtype=np.int64)
    state = _State(n, symmetry, analysis, view, runs=np.ones(len(n), bool), exact=np.ones(len(n), bool))
    state.by_fx = {node.fx_node: node for node in view.nodes if node.fx_node is not None}
    if analysis.exact is None or not understood_output(analysis.output):  # no size is predicted exact
        state.exact[:] = False
        if analysis.exact is not None:
            state.note(f"the rules do not know how the output moves ({analysis.output.kind})")
    rows = {row.name: row for row in analysis.rows}
    for node in view.nodes:
        if node.kind == "input":
            if node is view.input:
                state.planes[node.name] = (n.copy(), n.copy())
            continue
        if node.kind in ("attribute", "output"):
            continue
        _replay(state, node, rows.get(node.name))
    return SizeScan(n, state.runs, state.exact & state.runs, state.notes)


def understood_output(layout: Any) -> bool:
    """Whether the rules know how a tensor of this layout moves (every entry, for a tuple)."""
    if layout.kind == "tuple":
        return all(understood_output(item) for item in layout.items)
    return layout.kind != "unknown"


def _replay(state: _State, node: TracedNode, row: LayerExactness | None) -> None:
    if _is_shape_arithmetic(state, node):
        state.values[node.name] = _shape_value(state, node)
        return
    derived = [
        state.by_fx[i].name
        for i in (node.fx_node.all_input_nodes if node.fx_node is not None else [])
        if i in state.by_fx and state.by_fx[i].name in state.values
    ]
    layout = state.analysis.layouts.get(node.name)
    kind = layout.kind if layout is not None else "unknown"
    if row is not None:
        if derived and row.rule != "resize":
            raise NotSymbolic(f"{node.name} ({node.op}) reads sizes computed from the data")
        _row(state, node, row)
        return
    if kind == "tuple" and layout is not None and layout.items and layout.items[0].kind in ("image", "group"):
        kind = layout.items[0].kind
    if kind in ("image", "group"):
        _pass_through(state, node)
        if node.op in ("view", "reshape", "unflatten"):
            _literal_plane(state, node)
    elif kind == "flat":
        _flatten(state, node, derived)
    elif kind in ("invariant", "constant") and node.op in OPS.reshapes:
        data = data_input(node)
        if data is not None and data.name in state.planes:
            h, w = state.planes[data.name]
            single = (h == 1) & (w == 1)
            if not single.all():  # a plane that is 1 x 1 at every size (after global pooling) fixes nothing
                state.note(
                    f"{node.name} ({node.op}) reshapes a 1 x 1 plane: the model runs only where it is 1 x 1"
                )
            state.runs &= single


def _is_shape_arithmetic(state: _State, node: TracedNode) -> bool:
    if node.op in OPS.metadata:
        return True
    if node.fx_node is None or node.fx_node.target not in _ARITHMETIC:
        return False
    inputs = [state.by_fx.get(i) for i in node.fx_node.all_input_nodes]
    return bool(inputs) and all(i is not None and i.name in state.values for i in inputs)


def _symbolic_shape(state: _State, name: str, traced: Any) -> tuple[Any, ...]:
    shape: list[Any] = [int(v) for v in traced]
    if name in state.planes:
        h, w = state.planes[name]
        shape[-2], shape[-1] = h, w
    elif name in state.flats:
        c, h, w = state.flats[name]
        shape[-1] = c * h * w
    return tuple(shape)


def _shape_value(state: _State, node: TracedNode) -> Any:
    fx_node = node.fx_node
    if fx_node is None:
        raise NotSymbolic(f"{node.name} ({node.op}) has no graph node")
    if node.op in ("size", "shape", "getattr"):
        source = fx_node.args[0]
        owner = state.by_fx.get(source) if isinstance(source, fx.Node) else None
        if owner is None or not hasattr(owner.value, "__len__") or owner.name in state.values:
            raise NotSymbolic(f"{node.name} ({node.op}) reads the shape of something that is not a tensor")
        if node.op == "getattr" and fx_node.args[1] != "shape":
            raise NotSymbolic(f"{node.name} reads the attribute {fx_node.args[1]!r}")
        shape = _symbolic_shape(state, owner.name, owner.value)
        dim = fx_node.args[1] if node.op == "size" and len(fx_node.args) > 1 else fx_node.kwargs.get("dim")
        return shape if node.op != "size" or dim is None else shape[int(dim)]  # type: ignore[arg-type]
    if node.op == "dim":
        return len(node.value) if hasattr(node.value, "__len__") else node.value
    if fx_node.target not in _ARITHMETIC:
        raise NotSymbolic(f"{node.name} ({node.op}) computes with shapes in a way eqlab does not replay")

    args = fx.node.map_aggregate(fx_node.args, lambda arg: _replayed(state, node, arg))
    return _ARITHMETIC[fx_node.target](*args)


def _replayed(state: _State, node: TracedNode, arg: Any) -> Any:
    """An argument of ``node`` with every graph value replaced by its replayed shape arithmetic (arrays
    for the plane's sizes); a tensor there cannot be replayed."""
    owner = state.by_fx.get(arg) if isinstance(arg, fx.Node) else None
    if owner is None:
        return arg
    if owner.name not in state.values:
        raise NotSymbolic(f"{node.name} ({node.op}) computes shapes from a tensor's values")
    return state.values[owner.name]


def _moving_inputs(state: _State, node: TracedNode) -> list[Plane]:
    return [state.planes[i.name] for i in node.inputs if i.name in state.planes]


def _traced_plane(node: TracedNode) -> tuple[int, int] | None:
    shape = node.shape if node.shape is not None else (node.value[0] if node.is_tuple else None)
    if shape is None or len(shape) < 2:
        return None
    return (int(shape[-2]), int(shape[-1]))


def _pass_through(state: _State, node: TracedNode) -> None:
    """An op that keeps the plane: all moving operands must agree (else the model fails there)."""
    moving = [i for i in node.inputs if i.name in state.planes]
    if not moving:
        raise NotSymbolic(f"{node.name} ({node.op}) moves with the input but reads no plane eqlab follows")
    first = state.planes[moving[0].name]
    for other in moving[1:]:
        h, w = state.planes[other.name]
        state.runs &= (h == first[0]) & (w == first[1])
    if _traced_plane(node) != _traced_plane(moving[0]):
        raise NotSymbolic(f"{node.name} ({node.op}) changes the plane without a rule")
    state.planes[node.name] = (first[0].copy(), first[1].copy())


def _literal_plane(state: _State, node: TracedNode) -> None:
    """A reshape that keeps the plane runs only where its requested height and width are the plane's:
    a literal (or -1) there fixes the input size; sizes read from the data follow it."""
    fx_node = node.fx_node
    if fx_node is None:
        raise NotSymbolic(f"{node.name} ({node.op}) has no graph node")

    args = [_replayed(state, node, a) for a in (*fx_node.args[1:], *fx_node.kwargs.values())]
    requested = args[-1] if args and isinstance(args[-1], (tuple, list)) else args
    entries = list(requested)
    if len(entries) < 2:
        raise NotSymbolic(f"{node.name} ({node.op}) reshapes to {entries}")
    h, w = state.planes[node.name]
    traced = _traced_plane(node)
    literal = False
    for entry, plane_axis in zip(entries[-2:], (h, w), strict=True):
        if isinstance(entry, np.ndarray):
            state.runs &= entry == plane_axis
        else:
            literal = True
    if literal and traced is not None:
        state.runs &= (h == traced[0]) & (w == traced[1])
        state.note(f"{node.name} ({node.op}) reshapes to a literal plane {traced}: it fixes the input size")


def _flatten(state: _State, node: TracedNode, derived: list[str]) -> None:
    data = data_input(node)
    if data is None:
        raise NotSymbolic(f"{node.name} ({node.op}) flattens nothing eqlab follows")
    if data.name in state.flats:
        state.flats[node.name] = state.flats[data.name]
        return
    if data.name not in state.planes or data.shape is None:
        raise NotSymbolic(f"{node.name} ({node.op}) flattens a tensor whose plane eqlab does not follow")
    h, w = state.planes[data.name]
    channels = int(data.shape[1])
    state.flats[node.name] = (channels, h, w)
    requested = node.arg("size", node.arg("shape"))
    if node.op in ("view", "reshape") and isinstance(requested, (list, tuple)) and len(requested) == 2:
        literal = requested[1]
        if literal != -1 and not derived:
            state.runs &= channels * h * w == int(literal)
            state.note(
                f"{node.name} ({node.op}) reshapes to a literal {literal} features: it fixes the input size"
            )


def _row(state: _State, node: TracedNode, row: LayerExactness) -> None:
    data = data_input(node)
    if row.rule == "not understood":
        state.exact[:] = False
        if node.shape is not None and len(node.shape) >= 2 and data is not None and data.name in state.planes:
            raise NotSymbolic(f"{node.name} ({node.op}) is not understood")
        return
    if row.rule == "dense":
        _dense(state, node, data, row)
        return
    if data is None or data.name not in state.planes:
        raise NotSymbolic(f"{node.name} ({node.op}) reads a plane eqlab does not follow")
    h, w = state.planes[data.name]
    rule = {
        "window": _window,
        "transposed": _transposed,
        "adaptive": _adaptive,
        "pad": _pad,
        "resize": _resize,
        "slice": _slice,
    }.get(row.rule)
    if rule is None:
        raise NotSymbolic(f"{node.name} ({node.op}) has a rule ({row.rule}) eqlab does not replay")
    out_h, off_h = rule(state, node, row, h, 0)
    out_w, off_w = rule(state, node, row, w, 1)
    offsets = (off_h, off_w)
    good = np.ones(len(state.sizes), bool)
    for axis in row.axes:
        good &= offsets[axis] == 0
    if row.transposes:
        good &= (out_h == out_w) if row.rule in ("adaptive", "resize") else np.full(len(good), row.symmetric)
    state.exact &= good
    state.runs &= (out_h >= 1) & (out_w >= 1)
    state.planes[node.name] = (out_h, out_w)


Replayed = tuple[np.ndarray, np.ndarray]


def _window(state: _State, node: TracedNode, row: LayerExactness, n: np.ndarray, axis: int) -> Replayed:
    k, s, d = row.kernel[axis], row.stride[axis], row.dilation[axis]
    before, after = row.padding[axis]
    span = n + before + after - d * (k - 1) - 1
    if row.ceil_mode:  # as `eqlab.exactness._grid.output_length`
        count = -(-span // s) + 1
        count = np.maximum(np.where((count - 1) * s >= n + before, count - 1, count), 0)
    else:
        count = np.where(span < 0, 0, span // s + 1)
    offset = (n - 1 - (-before + d * (k - 1))) - ((count - 1) * s - before)
    offset = np.where((count == 0) | ((n == 1) & (count == 1)), 0, offset)
    if row.pooling is not None and before == after:
        kind, include_pad, divisor = row.pooling
        small = count < 2 * math.ceil((before + d * (k - 1)) / s) + 4
        offset = np.where(offset != 0, np.maximum(np.abs(offset), 1), 0)
        for i in np.flatnonzero(small & (count > 0) & (n >= 1)):  # n < 1: an earlier layer emptied it
            offset[i] = pool_offset(int(n[i]), kind, k, s, before, d, row.ceil_mode, include_pad, divisor)
    return count, offset


def _transposed(state: _State, node: TracedNode, row: LayerExactness, n: np.ndarray, axis: int) -> Replayed:
    k, s, d = row.kernel[axis], row.stride[axis], row.dilation[axis]
    p = row.padding[axis][0]
    extra = int(row.offset[axis])
    out = (n - 1) * s - 2 * p + d * (k - 1) + extra + 1
    return out, np.full(len(n), extra)


def _adaptive(state: _State, node: TracedNode, row: LayerExactness, n: np.ndarray, axis: int) -> Replayed:
    requested = node.arg("output_size") if node.kind == "function" else node.module.output_size
    if not isinstance(requested, (list, tuple)):
        requested = (requested, requested)
    wanted = requested[axis]
    out = n.copy() if wanted is None else np.full(len(n), int(wanted))
    offset = np.array(
        [0 if o == 1 or v % o == 0 else adaptive_offset(int(v), int(o)) for v, o in zip(n, out, strict=True)]
    )
    return out, offset


def _pad(state: _State, node: TracedNode, row: LayerExactness, n: np.ndarray, axis: int) -> Replayed:
    before, after = row.padding[axis]
    mode = node.arg("mode", "constant") if node.kind == "function" else getattr(node.module, "mode", None)
    reflective = "reflect" in node.op.lower() or mode in ("reflect", "replicate", "circular")
    if reflective:
        state.runs &= n > max(before, after)
    return n + before + after, np.full(len(n), before - after)


def _resize(state: _State, node: TracedNode, row: LayerExactness, n: np.ndarray, axis: int) -> Replayed:
    fx_node = node.fx_node
    size_arg = node.arg("size", node.arg("output_size"))
    scale = node.arg("scale_factor", node.arg("scale_factors"))
    mode = node.arg("mode", "nearest") if node.kind == "function" else node.module.mode
    align = node.arg("align_corners") if node.kind == "function" else node.module.align_corners
    if node.kind == "module":
        size_arg, scale = node.module.size, node.module.scale_factor
    symbolic_size = None
    if fx_node is not None:
        for arg in fx_node.all_input_nodes:
            owner = state.by_fx.get(arg)
            if owner is not None and owner.name in state.values:
                symbolic_size = state.values[owner.name]
                state.note(
                    f"{node.name} ({node.op}) resizes to a size read from the data ({owner.name}); "
                    "eqlab follows that tensor's size"
                )
    if symbolic_size is not None:
        entries = list(symbolic_size) if isinstance(symbolic_size, (tuple, list)) else [symbolic_size] * 2
        out = np.broadcast_to(np.asarray(entries[-2:][axis], dtype=np.int64), n.shape).copy()
        factor = None
    elif size_arg is not None:
        entries = list(size_arg) if isinstance(size_arg, (list, tuple)) else [size_arg, size_arg]
        out = np.full(len(n), int(entries[axis]))
        factor = None
    else:
        scales = list(scale) if isinstance(scale, (list, tuple)) else [scale, scale]
        factor = float(scales[axis])
        out = np.floor(n * factor).astype(np.int64)
    if mode not in ("nearest", "nearest-exact", "bilinear", "bicubic", "area"):
        raise NotSymbolic(f"{node.name} resizes in mode {mode!r}")
    offset = np.zeros(len(n))
    cache: dict[tuple[int, int], float] = {}
    for i, (v, o) in enumerate(zip(n.tolist(), out.tolist(), strict=True)):
        if o < 1 or v < 1:  # an empty plane: the model does not run there (runs is False)
            continue
        integer_scale = o % v == 0 and (factor is None or factor == o // v)
        if mode != "area" and integer_scale and ((mode != "bicubic" and mode != "bilinear") or not align):
            continue  # an integer upsampling without align_corners is its own mirror image
        if (v, o) not in cache:
            cache[(v, o)] = (
                adaptive_offset(v, o)
                if mode == "area"
                else resize_offset(v, o, mode, align, factor, bool(node.arg("antialias", False)))
            )
        offset[i] = cache[(v, o)]
    return out, offset


def _slice(state: _State, node: TracedNode, row: LayerExactness, n: np.ndarray, axis: int) -> Replayed:
    if row.slices is None:
        raise NotSymbolic(f"{node.name} slices without recorded bounds")
    start, stop, step = row.slices[axis]
    out, offset = np.zeros(len(n), np.int64), np.zeros(len(n), np.int64)
    for i, v in enumerate(n.tolist()):
        kept = range(v)[slice(start, stop, step)]
        out[i] = len(kept)
        if len(kept):
            offset[i] = abs(min(kept[0], kept[-1]) + max(kept[0], kept[-1]) - (v - 1))
    return out, offset


def _dense(state: _State, node: TracedNode, data: TracedNode | None, row: LayerExactness) -> None:
    if data is None or data.name not in state.flats:
        raise NotSymbolic(f"{node.name} ({node.op}) reads flattened positions eqlab does not follow")
    channels, h, w = state.flats[data.name]
    features = channels * int(row.input_size[0]) * int(row.input_size[1])
    state.runs &= channels * h * w == features
    if row.transposes:
        state.exact &= h == w
    state.note(
        f"{node.name} ({node.op}) reads {features} flattened features ({channels} x {row.input_size[0]} x "
        f"{row.input_size[1]}): it fixes the input size"
    )
