"""The rules of each family of ops: what it does to the layout of its output, and its row.

Each function reads the node and its input's layout and returns the output's layout, adding a row to
the `Context` when the node touches the plane (see `eqlab.exactness._rules` for the table of layouts).
"""

from __future__ import annotations

from typing import Any

import torch

from eqlab.exactness._grid import adaptive_offset, axis_offset, pool_offset, resize_offset, slice_offset
from eqlab.exactness._layout import (
    IMAGE,
    INVARIANT,
    MOVED_AXES,
    MOVING,
    Average,
    Context,
    LayerExactness,
    Layout,
    Pair,
    extent,
    pair,
    text,
)
from eqlab.trace import TracedNode


def window(
    ctx: Context,
    node: TracedNode,
    size: Pair,
    kernel: Pair,
    stride: Pair,
    padding: Any,
    dilation: Pair,
    ceil_mode: bool,
    what: str,
    pooling: tuple[str, bool, int | None] | None = None,
) -> LayerExactness:
    """A convolution or pooling window. ``pooling`` is ``(kind, count_include_pad, divisor_override)``
    for pools, whose windows are read by `pool_offset` (padding takes no part in them)."""
    if isinstance(padding, str):
        totals = (
            [0, 0] if padding == "valid" else [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
        )
        pads: tuple[Pair, Pair] = (
            (totals[0] // 2, totals[0] - totals[0] // 2),
            (totals[1] // 2, totals[1] - totals[1] // 2),
        )
    else:
        p = pair(padding)
        pads = ((p[0], p[0]), (p[1], p[1]))
    if pooling is not None and all(before == after for before, after in pads):
        kind, include_pad, divisor = pooling
        offset = tuple(
            pool_offset(n, kind, k, s, pad[0], d, ceil_mode, include_pad, divisor)
            for n, k, s, pad, d in zip(size, kernel, stride, pads, dilation, strict=True)
        )
    else:
        offset = tuple(
            axis_offset(n, k, s, pad, d, ceil_mode)
            for n, k, s, pad, d in zip(size, kernel, stride, pads, dilation, strict=True)
        )
    symmetric = (
        kernel[0] == kernel[1]
        and stride[0] == stride[1]
        and dilation[0] == dilation[1]
        and pads[0] == pads[1]
    )
    padding_text = (
        str(pads[0][0])
        if len({*pads[0], *pads[1]}) == 1
        else f"{pads[0][0]},{pads[0][1]};{pads[1][0]},{pads[1][1]}"
    )
    effect = f"{what} {kernel[0]}x{kernel[1]}, stride {text(stride)}, padding {padding_text}"
    if offset != (0, 0):
        unit = "pixel" if set(offset) <= {0, 1, -1} else "pixels"
        effect += f": its sampling grid misses its mirror image by {text(offset)} {unit}"
    return ctx.row(
        node,
        "window",
        size,
        kernel=kernel,
        stride=stride,
        padding=pads,
        dilation=dilation,
        ceil_mode=ceil_mode,
        offset=offset,
        symmetric=symmetric,
        effect=effect,
        pooling=pooling,
    )


def conv_weight(ctx: Context, node: TracedNode, weight: Any) -> str | None:
    """Register the filter for averaging; the reason it cannot be, else ``None``."""
    if isinstance(weight, TracedNode) and weight.kind == "attribute":
        ctx.averages.append(Average(weight.path))
        return None
    return "its filter is computed at run time, so it cannot be averaged over the symmetry"


def adaptive(ctx: Context, node: TracedNode, size: Pair, output_size: Any) -> Layout:
    requested = output_size if isinstance(output_size, (list, tuple)) else (output_size, output_size)
    out = tuple(size[i] if requested[i] is None else int(requested[i]) for i in range(2))
    offset = (adaptive_offset(size[0], out[0]), adaptive_offset(size[1], out[1]))
    ctx.row(
        node,
        "adaptive",
        size,
        kernel=out,
        offset=offset,
        symmetric=out[0] == out[1],  # windows along each axis depend on that axis alone
        effect=f"adaptive pooling {text(size)} -> {text(out)}"
        + (f", windows off by {text(offset)}" if offset != (0, 0) else ""),
    )
    return IMAGE


def transposed(
    ctx: Context,
    node: TracedNode,
    size: Pair,
    kernel: Pair,
    stride: Pair,
    padding: Pair,
    output_padding: Pair,
    dilation: Pair,
) -> None:
    offset = (output_padding[0], output_padding[1])
    symmetric = (
        kernel[0] == kernel[1]
        and stride[0] == stride[1]
        and padding[0] == padding[1]
        and dilation[0] == dilation[1]
        and offset[0] == offset[1]
    )
    effect = f"transposed convolution {kernel[0]}x{kernel[1]}, stride {text(stride)}"
    if offset != (0, 0):
        effect += f": output_padding {text(offset)} adds rows or columns on one side only"
    ctx.row(
        node,
        "transposed",
        size,
        kernel=kernel,
        stride=stride,
        padding=((padding[0], padding[0]), (padding[1], padding[1])),
        dilation=dilation,
        offset=offset,
        symmetric=symmetric,
        effect=effect,
    )


def pad(ctx: Context, node: TracedNode, layout: Layout, size: Pair, pad: list[int]) -> Layout:
    if layout.kind not in ("image", "group"):
        return generic(ctx, node, f"padding a tensor of layout {layout.kind}")
    if len(pad) == 2:
        pad = [pad[0], pad[1], 0, 0]
    left, right, top, bottom = (int(p) for p in pad[:4])
    extra = [int(p) for p in pad[4:]]
    if layout.kind == "group" and any(extra[:2]):
        return ctx.not_understood(node, "padding the group axis")
    offset = (top - bottom, left - right)
    ctx.row(
        node,
        "pad",
        size,
        padding=((top, bottom), (left, right)),
        offset=offset,
        symmetric=(top, bottom) == (left, right),
        effect=f"pads {top},{bottom} rows and {left},{right} columns"
        + ("" if offset == (0, 0) else ": unequal on the two sides"),
    )
    return layout


def resize(
    ctx: Context,
    node: TracedNode,
    layout: Layout,
    size: Pair,
    mode: str,
    align_corners: Any,
    scale: Any,
    recompute: Any,
    antialias: bool = False,
) -> Layout:
    if layout.kind not in ("image", "group"):
        return generic(ctx, node, f"resizing a tensor of layout {layout.kind}")
    shape = node.shape
    if shape is None:
        return ctx.not_understood(node, "resizing gave no tensor")
    out = (int(shape[-2]), int(shape[-1]))
    offset: tuple[float, ...]
    if mode == "area":
        offset = (adaptive_offset(size[0], out[0]), adaptive_offset(size[1], out[1]))
    elif mode in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        scales = (
            (None, None)
            if scale is None or recompute
            else (scale if isinstance(scale, (list, tuple)) else (scale, scale))
        )
        offset = tuple(
            resize_offset(n, o, mode, align_corners, None if s is None else float(s), antialias)
            for n, o, s in zip(size, out, scales, strict=True)
        )
    else:
        return ctx.not_understood(node, f"no rule for {mode!r} interpolation")
    if scale is not None and not recompute:  # the scale decides each axis alone
        sym = not isinstance(scale, (list, tuple)) or float(scale[0]) == float(scale[1])
    else:  # the sizes do
        sym = out[0] == out[1]
    ctx.row(
        node,
        "resize",
        size,
        kernel=out,
        offset=offset,
        symmetric=bool(sym),
        effect=f"{mode} resize {text(size)} -> {text(out)}"
        + ("" if offset == (0, 0) else ": not mirror-symmetric"),
    )
    return layout


def reshape(ctx: Context, node: TracedNode, data: TracedNode, layout: Layout) -> Layout:
    before, after = data.shape, node.shape
    if before is None or after is None:
        return generic(ctx, node, "reshape of a non-tensor")
    if layout.kind in ("invariant", "constant"):
        return layout
    if layout.kind == "flat":
        return (
            layout
            if tuple(after) == tuple(before)
            else ctx.not_understood(node, "reshapes flattened positions")
        )
    if layout.kind not in ("image", "group"):
        return generic(ctx, node, f"reshape of a tensor of layout {layout.kind}")
    keep = 3 if layout.kind == "group" else 2
    if len(after) >= keep + 1 and tuple(after[-keep:]) == tuple(before[-keep:]) and after[0] == before[0]:
        return layout
    if len(before) >= 3 and int(before[-1]) * int(before[-2]) == 1 and layout.kind == "image":
        return INVARIANT  # a 1 x 1 plane holds no positions
    if layout.kind == "image" and len(before) == 4 and len(after) == 2 and after[0] == before[0]:
        c, h, w = (int(v) for v in before[1:])
        return Layout("flat", flat=(c, h, w))
    return ctx.not_understood(
        node,
        f"reshapes {tuple(before)} to {tuple(after)}, mixing the plane (or the group axis) with other axes",
    )


def dense(ctx: Context, node: TracedNode, layout: Layout, weight_path: str | None) -> Layout:
    if layout.kind in ("invariant", "constant"):
        return INVARIANT
    if layout.kind == "flat" and layout.flat is not None:
        c, h, w = layout.flat
        if weight_path is None:
            return ctx.not_understood(
                node, "a dense layer without a weight to average reads flattened positions"
            )
        if ctx.symmetry.transposes and h != w:
            return ctx.not_understood(
                node, f"a dense layer reads a flattened {h}x{w} map, which rotations do not keep"
            )
        ctx.averages.append(Average(weight_path, (c, h, w)))
        ctx.row(
            node,
            "dense",
            (h, w),
            effect=f"a dense layer reads {c} x {h} x {w} flattened positions, which fixes the input size "
            "(averaged over the symmetry in the measured copy)",
        )
        return INVARIANT
    return generic(
        ctx, node, f"a dense layer applied to a tensor of layout {layout.kind} mixes along the width axis"
    )


def softmax(ctx: Context, node: TracedNode, data: TracedNode, layout: Layout, dim: Any) -> Layout:
    if layout.kind not in ("image", "group"):
        return generic(ctx, node, "softmax")
    ndim = len(data.shape) if data.shape is not None else 0
    keep = 2
    if dim is None or not isinstance(dim, int) or (dim % max(ndim, 1)) >= ndim - keep:
        return ctx.not_understood(node, f"softmax over axis {dim} mixes positions of the plane")
    if layout.kind == "group" and dim % ndim == ndim - 3:
        return ctx.not_understood(node, "softmax over the group axis")
    return layout


def layer_norm(ctx: Context, node: TracedNode, layout: Layout, axes: int, affine: bool) -> Layout:
    if layout.kind in ("invariant", "constant"):
        return layout
    if layout.kind in ("image", "group") and axes >= (3 if layout.kind == "group" else 2) and not affine:
        return layout
    return ctx.not_understood(node, "layer norm over part of the plane, or with a weight per position")


def generic(ctx: Context, node: TracedNode, why: str) -> Layout:
    """An op without a plane rule: fine on tensors that do not move, not understood otherwise."""
    layouts = [ctx.layout(i) for i in node.inputs]
    if any(layout.kind in MOVING or layout.kind == "tuple" for layout in layouts):
        return ctx.not_understood(node, why)
    return INVARIANT


def binary(ctx: Context, node: TracedNode) -> Layout:
    """Elementwise ops of several tensors: moving operands must agree; a tensor that does not move (a
    constant, pooled features) may join them only when it is constant along every moved axis (the plane,
    and the group axis of group features), so that it broadcasts."""
    layouts = [(value, ctx.layout(value)) for value in node.inputs]
    if any(lay.kind in ("flat", "unknown", "tuple") for _, lay in layouts):
        bad = next(lay.kind for _, lay in layouts if lay.kind in ("flat", "unknown", "tuple"))
        return ctx.not_understood(node, f"combines a tensor of layout {bad}")
    moving = [(v, lay) for v, lay in layouts if lay.kind in MOVED_AXES]
    if not moving:
        return INVARIANT
    kinds = {lay.kind for _, lay in moving}
    if len(kinds) > 1:
        return ctx.not_understood(node, f"combines tensors that move differently ({sorted(kinds)})")
    kind = moving[0][1].kind
    axes = MOVED_AXES[kind]
    out = node.shape
    for value, lay in layouts:
        shape = value.shape
        if lay.kind == kind:
            if out is not None and shape is not None and tuple(shape[-axes:]) != tuple(out[-axes:]):
                return ctx.not_understood(node, "combines maps of different sizes")
        elif extent(shape, axes) > 1:
            return ctx.not_understood(
                node,
                f"combines the features with a fixed {tuple(shape or ())} tensor that varies along the moved "
                "axes and does not move with the input",
            )
    return moving[0][1]


def _dims(value: Any, ndim: int) -> set[int] | None:
    """The reduced axes, or ``None`` for all of them (no ``dim``, or an empty one)."""
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
        return None
    items = value if isinstance(value, (list, tuple)) else [value]
    if not all(isinstance(v, int) for v in items):
        return None
    return {v % ndim for v in items}


def _reduced_axes(node: TracedNode) -> Any:
    """The ``dim`` of a reduction. A positional dim can bind to another overload's parameter name
    (``x.max(-1)`` binds as ``max(self, other)``, ``x.std(-1)`` as ``std(self, unbiased)``): an integer
    (not a bool) or a list of them there is the dim."""
    dim = node.arg("dim", node.arg("axis"))
    if dim is not None:
        return dim
    for key in ("other", "unbiased"):
        value = node.arg(key)
        items = value if isinstance(value, (list, tuple)) else [value]
        if items and all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            return value
    return None


def reduction(ctx: Context, node: TracedNode, data: TracedNode, layout: Layout) -> Layout:
    """Reductions over given axes: over every moved axis, the result does not move; over some of them
    only, it is not understood (a row of the plane, say)."""
    ndim = len(data.shape) if data.shape is not None else 0
    dims = _dims(_reduced_axes(node), max(ndim, 1))
    if layout.kind == "group_axis":
        return INVARIANT if dims is None or (ndim - 1) in dims else layout
    if layout.kind not in ("image", "group"):
        return generic(ctx, node, "reduction")
    plane_axes = {ndim - 2, ndim - 1}
    if dims is None or plane_axes <= dims:
        if layout.kind == "group" and dims is not None and (ndim - 3) not in dims:
            return Layout("group_axis")
        return INVARIANT
    if dims & plane_axes:
        return ctx.not_understood(node, "reduces along one axis of the plane only")
    if layout.kind == "group" and (ndim - 3) in dims:
        return IMAGE
    return layout


def slicing(ctx: Context, node: TracedNode, data: TracedNode, layout: Layout) -> Layout:
    shape = data.shape
    if layout.kind == "tuple":
        index = node.arg("index")
        if isinstance(index, int) and 0 <= index < len(layout.items):
            return layout.items[index]
        return ctx.not_understood(node, "takes an unknown entry of a tuple")
    if layout.kind not in ("image", "group") or shape is None:
        return generic(ctx, node, "indexing")
    ndim = len(shape)
    if node.op == "getitem":
        index = node.arg("index")
        if not isinstance(index, tuple):
            index = (index,)
        if any(isinstance(i, (TracedNode, torch.Tensor, list)) or i is None for i in index):
            return ctx.not_understood(node, "indexes with tensors or adds axes")
        if Ellipsis in index:
            at = index.index(Ellipsis)
            index = index[:at] + (slice(None),) * (ndim - len(index) + 1) + index[at + 1 :]
        index = index + (slice(None),) * (ndim - len(index))
        per_axis = list(index)
    else:
        dim = int(node.arg("dim", 0)) % ndim
        per_axis = [slice(None)] * ndim
        if node.op == "narrow":
            start = int(node.arg("start"))
            per_axis[dim] = slice(start, start + int(node.arg("length")))
        elif node.op == "select":
            per_axis[dim] = int(node.arg("index"))
        else:
            per_axis[dim] = slice(node.arg("start"), node.arg("end"), node.arg("step"))
    in_plane = per_axis[-2:]
    if layout.kind == "group" and per_axis[-3] != slice(None):
        return ctx.not_understood(node, "indexes the group axis")
    if any(isinstance(p, int) for p in in_plane):
        return ctx.not_understood(node, "picks one row or column of the plane")
    if any(isinstance(p, int) for p in per_axis[:-2]) and node.shape is None:
        return ctx.not_understood(node, "indexing gave no tensor")
    if all(p == slice(None) for p in in_plane):
        return layout
    size = (int(shape[-2]), int(shape[-1]))
    cleaned = [_clean(p) for p in in_plane]
    offset = tuple(slice_offset(n, *c) for n, c in zip(size, cleaned, strict=True))
    ctx.row(
        node,
        "slice",
        size,
        offset=offset,
        symmetric=cleaned[0] == cleaned[1],
        slices=tuple(cleaned),
        effect="keeps rows "
        + _slice_text(cleaned[0])
        + " and columns "
        + _slice_text(cleaned[1])
        + ("" if offset == (0, 0) else ": not mirror-symmetric"),
    )
    return layout


def _clean(s: slice) -> tuple[int | None, int | None, int | None]:
    def small(v: Any) -> int | None:
        if v is None or abs(int(v)) >= 2**62:
            return None
        return int(v)

    return small(s.start), small(s.stop), small(s.step)


def _slice_text(c: tuple[int | None, int | None, int | None]) -> str:
    start, stop, step = c
    text = f"{'' if start is None else start}:{'' if stop is None else stop}"
    return f"[{text}{'' if step in (None, 1) else f':{step}'}]"


def permute(ctx: Context, node: TracedNode, data: TracedNode, layout: Layout) -> Layout:
    if layout.kind not in ("image", "group"):
        return generic(ctx, node, node.op)
    ndim = len(data.shape) if data.shape is not None else 0
    if node.op == "permute":
        order = [int(d) % ndim for d in (node.arg("dims") or node.arg("size") or ())]
    else:
        order = list(range(ndim))
        a, b = int(node.arg("dim0", 0)) % ndim, int(node.arg("dim1", 1)) % ndim
        order[a], order[b] = order[b], order[a]
    keep = 3 if layout.kind == "group" else 2
    if order[-keep:] == list(range(ndim - keep, ndim)):
        return layout
    return ctx.not_understood(node, f"moves the plane's axes ({node.op} {order})")


def cat(ctx: Context, node: TracedNode) -> Layout:
    """Concatenation of moving tensors along an axis that does not move; a tensor that does not move
    may join them only when it is constant along the moved axes (a 1 x 1 plane)."""
    tensors = node.arg("tensors")
    if tensors is None:
        tensors = node.inputs
    found = [(t, ctx.layout(t)) for t in tensors if isinstance(t, TracedNode)]
    kinds = {lay.kind for _, lay in found}
    moving = kinds & set(MOVING)
    if not moving:
        return INVARIANT
    if len(moving) > 1 or moving & {"flat", "unknown"}:
        return ctx.not_understood(node, f"joins tensors of layouts {sorted(kinds)}")
    kind = moving.pop()
    axes = MOVED_AXES[kind]
    first = found[0][0]
    ndim = len(first.shape) if first.shape is not None else 0
    dim = int(node.arg("dim", 0)) % max(ndim, 1)
    if node.op == "stack" or dim >= ndim - axes:
        return ctx.not_understood(node, f"{node.op} along axis {dim}, an axis the symmetry moves")
    for t, lay in found:
        if lay.kind != kind and extent(t.shape, axes) > 1:
            return ctx.not_understood(
                node, f"joins a fixed {tuple(t.shape or ())} tensor that does not move with the input"
            )
    return Layout(kind)
