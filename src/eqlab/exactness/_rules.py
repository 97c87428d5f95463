"""What each node of a traced model does to a grid symmetry: one rule per op, applied in graph order.

Every tensor carries a *layout* (`eqlab.exactness._layout`), saying how the symmetry acts on it. A rule
maps its inputs' layouts to its output's, and the nodes that touch the plane get a row
(`LayerExactness`): the sampling grid of strided convolutions and pools along each axis (the offset of
`eqlab.exactness._grid`), transposed convolutions (their ``output_padding``), interpolation, slicing,
padding, adaptive pooling, a dense layer reading flattened positions, and every op no rule covers
(pixel shuffles, reshapes that fold the plane into channels, rotations, ...), which is *not understood*.
"""

from __future__ import annotations

from torch import nn

from eqlab.exactness import _families as families
from eqlab.exactness._layout import (
    GROUP,
    IMAGE,
    INVARIANT,
    MOVING,
    UNKNOWN,
    VALUE,
    Analysis,
    Average,
    Context,
    Layout,
    Pair,
    data_input,
    pair,
    plane,
)
from eqlab.exactness._symmetry import Symmetry
from eqlab.gconv._conv import GroupConv2d, LiftingConv2d
from eqlab.gconv._pool import GroupAvgPool2d, GroupBatchNorm2d, GroupMaxPool2d, GroupPool
from eqlab.trace import TracedModel, TracedNode
from eqlab.trace._graph import is_eqlab_layer
from eqlab.trace._vocabulary import OPS

__all__ = ["analyse"]


def _plane_layout(ctx: Context, node: TracedNode) -> tuple[TracedNode | None, Layout]:
    data = data_input(node)
    return data, ctx.layout(data) if data is not None else UNKNOWN


def _module_rule(ctx: Context, node: TracedNode) -> Layout:
    m = node.module
    data, layout = _plane_layout(ctx, node)
    if data is None:
        return INVARIANT
    rewired = _rewired(m)
    if rewired is not None:
        return families.generic(ctx, node, f"{type(m).__name__}: {rewired}")
    size = plane(data)
    if isinstance(m, (LiftingConv2d, GroupConv2d)):
        expected = IMAGE if isinstance(m, LiftingConv2d) else GROUP
        if layout.kind != expected.kind:
            return ctx.not_understood(node, f"{type(m).__name__} reads a tensor of layout {layout.kind}")
        ctx.groups.add(m.group.name)
        k = (m.kernel_size, m.kernel_size)
        families.window(ctx, node, size, k, m.stride, m.padding, m.dilation, False, "group convolution")
        return GROUP
    if isinstance(m, (GroupMaxPool2d, GroupAvgPool2d)):
        if layout.kind != "group":
            return ctx.not_understood(node, f"{type(m).__name__} reads a tensor of layout {layout.kind}")
        _pool_module(ctx, node, m, size)
        return GROUP
    if isinstance(m, GroupBatchNorm2d):
        return layout
    if isinstance(m, GroupPool):
        return (
            IMAGE if layout.kind == "group" else ctx.not_understood(node, "GroupPool reads no group features")
        )
    if is_eqlab_layer(m):
        return families.generic(ctx, node, f"an eqlab {type(m).__name__} layer has no rule for the plane")
    if isinstance(m, nn.Conv2d):
        if layout.kind != "image":
            return families.generic(ctx, node, f"Conv2d reads a tensor of layout {layout.kind}")
        row = families.window(
            ctx,
            node,
            size,
            pair(m.kernel_size),
            pair(m.stride),
            m.padding,
            pair(m.dilation),
            False,
            "convolution",
        )
        ctx.averages.append(Average(f"{node.path}.weight"))
        if row.transposes and m.kernel_size[0] != m.kernel_size[1]:
            row.effect += "; a non-square kernel cannot be rotation-symmetric"
        return IMAGE
    if isinstance(m, nn.ConvTranspose2d):
        if layout.kind != "image":
            return families.generic(ctx, node, f"ConvTranspose2d reads a tensor of layout {layout.kind}")
        families.transposed(
            ctx,
            node,
            size,
            pair(m.kernel_size),
            pair(m.stride),
            pair(m.padding),
            pair(m.output_padding),
            pair(m.dilation),
        )
        ctx.averages.append(Average(f"{node.path}.weight"))
        return IMAGE
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.LPPool2d)):
        if layout.kind != "image":
            return families.generic(ctx, node, f"{type(m).__name__} reads a tensor of layout {layout.kind}")
        _pool_module(ctx, node, m, size)
        return IMAGE
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        if layout.kind not in ("image",):
            return families.generic(ctx, node, f"{type(m).__name__} reads a tensor of layout {layout.kind}")
        return families.adaptive(ctx, node, size, m.output_size)
    if isinstance(
        m, (nn.ZeroPad2d, nn.ConstantPad2d, nn.ReflectionPad2d, nn.ReplicationPad2d, nn.CircularPad2d)
    ):
        return families.pad(ctx, node, layout, size, list(m.padding))
    if isinstance(m, nn.Upsample):
        return families.resize(
            ctx, node, layout, size, m.mode, m.align_corners, m.scale_factor, m.recompute_scale_factor
        )
    if isinstance(m, (nn.PixelShuffle, nn.PixelUnshuffle, nn.Unfold, nn.Fold)):
        if layout.kind in MOVING:
            return ctx.not_understood(node, f"{type(m).__name__} moves the plane into channels (or back)")
        return INVARIANT
    if isinstance(m, (nn.Flatten, nn.Unflatten)):
        return families.reshape(ctx, node, data, layout)
    if isinstance(m, (nn.Linear, nn.Bilinear, nn.LazyLinear)):
        return families.dense(ctx, node, layout, f"{node.path}.weight" if isinstance(m, nn.Linear) else None)
    if isinstance(m, (nn.Softmax, nn.LogSoftmax, nn.Softmin)):
        return families.softmax(ctx, node, data, layout, m.dim)
    if isinstance(m, nn.LayerNorm):
        return families.layer_norm(ctx, node, layout, len(m.normalized_shape), m.elementwise_affine)
    if isinstance(m, _ELEMENTWISE_MODULES):
        return layout
    if isinstance(m, _CHANNEL_MODULES):
        return _per_channel(ctx, node, layout, type(m).__name__)
    return families.generic(ctx, node, f"no rule for {type(m).__name__}")


def _per_channel(ctx: Context, node: TracedNode, layout: Layout, what: str) -> Layout:
    if layout.kind in _PER_CHANNEL_LAYOUTS:
        return layout
    return ctx.not_understood(
        node, f"{what} acts per channel, but the channels here are {layout.kind} positions"
    )


_ELEMENTWISE_MODULES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.RReLU, nn.ELU, nn.CELU, nn.SELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Softsign, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid,
    nn.LogSigmoid, nn.Tanhshrink, nn.Softshrink, nn.Hardshrink, nn.Threshold, nn.Identity,
    nn.Dropout, nn.AlphaDropout,
)  # fmt: skip
"""Modules that act on every entry alike: they keep any layout."""

_CHANNEL_MODULES = (
    nn.PReLU, nn.Softmax2d, nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm,
    nn.GroupNorm, nn.LocalResponseNorm, nn.modules.dropout._DropoutNd, nn.ChannelShuffle,
)  # fmt: skip
"""Modules that act per channel (axis 1) and alike over the rest: they keep a layout whose channel
axis is a channel, never a flattened image's, whose "channels" are positions."""

_PER_CHANNEL_LAYOUTS = ("image", "group", "group_axis", "invariant", "constant")


def _rewired(module: nn.Module) -> str | None:
    """Why ``module`` may not compute what its class says: forward hooks, a replaced forward, or
    parametrized weights (weight or spectral normalisation, pruning)."""
    from torch.nn.utils import parametrize

    if module._forward_hooks or module._forward_pre_hooks:
        return "a forward hook changes what it computes"
    if "forward" in vars(module):
        return "its forward is replaced on the instance"
    if parametrize.is_parametrized(module):
        return "its weights are parametrized"
    hooks = nn.modules.module
    if hooks._global_forward_hooks or hooks._global_forward_pre_hooks:
        return "a global forward hook changes what modules compute"
    return None


def _pool_module(ctx: Context, node: TracedNode, m: nn.Module, size: Pair) -> None:
    kernel = pair(m.kernel_size)
    stride = pair(m.stride if m.stride is not None and m.stride != [] else m.kernel_size)
    padding = getattr(m, "padding", 0)
    dilation = pair(getattr(m, "dilation", 1))
    kind = "max" if isinstance(m, nn.MaxPool2d) else "avg"
    pooling = (kind, bool(getattr(m, "count_include_pad", True)), getattr(m, "divisor_override", None))
    families.window(ctx, node, size, kernel, stride, padding, dilation, bool(m.ceil_mode), "pooling", pooling)


def _function_rule(ctx: Context, node: TracedNode) -> Layout:
    layout = _function_layout(ctx, node)
    if node.is_tuple and layout.kind != "tuple":
        # extra outputs (indices, saved statistics) do not move like the values: unknown if used
        return Layout("tuple", items=(layout,) + (UNKNOWN,) * (len(node.value) - 1))
    return layout


def _function_layout(ctx: Context, node: TracedNode) -> Layout:
    op = node.op
    data, layout = _plane_layout(ctx, node)
    if node.shape is None and not node.is_tuple:
        return VALUE
    if op == "getattr" and node.arg("arg1") in ("values", "indices"):  # a (values, indices) result's field
        source = ctx.layout(node.inputs[0]) if node.inputs else UNKNOWN
        index = 0 if node.arg("arg1") == "values" else 1
        if source.kind == "tuple" and index < len(source.items):
            return source.items[index]
        return families.generic(ctx, node, f"reads .{node.arg('arg1')} of a tensor of layout {source.kind}")
    if op in OPS.metadata:
        return VALUE
    if op in OPS.normalisations or op == "prelu":
        return _per_channel(ctx, node, layout, op)
    if op in OPS.activations | OPS.pass_through:
        return families.binary(ctx, node) if len(node.inputs) > 1 else layout
    if op in OPS.elementwise:
        return families.binary(ctx, node)
    if op in OPS.constants:
        return Layout("constant")
    if op in ("cat", "stack"):
        return families.cat(ctx, node)
    if data is None:
        return families.generic(ctx, node, f"no rule for {op}")
    if op == "getitem" or op in ("slice", "narrow", "select"):
        return families.slicing(ctx, node, data, layout)
    if op in OPS.reshapes:
        return families.reshape(ctx, node, data, layout)
    if op in ("permute", "transpose", "swapaxes", "swapdims"):
        return families.permute(ctx, node, data, layout)
    if op in OPS.reductions:
        return families.reduction(ctx, node, data, layout)
    if op in ("repeat", "tile"):
        repeats = node.arg("repeats", node.arg("dims", node.arg("size")))
        counts = list(repeats) if isinstance(repeats, (list, tuple)) else []
        if layout.kind in ("image", "group") and len(counts) >= 2 and counts[-2:] == [1, 1]:
            return layout
        return families.generic(ctx, node, f"{op} repeats the plane")
    if op in ("expand", "expand_as", "broadcast_to"):
        if layout.kind == "image" and data.shape is not None and len(data.shape) >= 2:
            if int(data.shape[-1]) * int(data.shape[-2]) == 1:
                return INVARIANT
            if node.shape is not None and tuple(node.shape[-2:]) == tuple(data.shape[-2:]):
                return layout
        return families.generic(ctx, node, f"{op} changes the plane")
    if op in ("softmax", "log_softmax", "softmin"):
        return families.softmax(ctx, node, data, layout, node.arg("dim"))
    if op == "layer_norm":
        shape = node.arg("normalized_shape") or ()
        return families.layer_norm(ctx, node, layout, len(shape), node.arg("weight") is not None)
    if op in ("conv2d", "convolution", "conv_transpose2d"):
        return _conv_function(ctx, node, data, layout)
    if op in ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "lp_pool2d"):
        return _pool_function(ctx, node, data, layout)
    if op in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
        if layout.kind != "image" or data is None:
            return families.generic(ctx, node, op)
        result = families.adaptive(ctx, node, plane(data), node.arg("output_size"))
        return (
            Layout("tuple", items=(result, UNKNOWN))
            if op == "adaptive_max_pool2d" and node.is_tuple
            else result
        )
    if op in ("pad", "constant_pad_nd", "reflection_pad2d", "replication_pad2d", "circular_pad2d"):
        if data is None:
            return VALUE
        pad = node.arg("pad", node.arg("padding"))
        return families.pad(ctx, node, layout, plane(data), list(pad))
    if op == "interpolate" or op.startswith("upsample_"):
        return _interpolate(ctx, node, data, layout)
    if op in ("linear", "matmul", "mm", "bmm", "addmm", "einsum", "bilinear"):
        weight = node.arg("weight")
        path = (
            weight.path
            if op == "linear" and isinstance(weight, TracedNode) and weight.kind == "attribute"
            else None
        )
        return (
            families.dense(ctx, node, layout, path)
            if op == "linear"
            else families.generic(ctx, node, f"{op} mixes along the plane")
        )
    if op in OPS.moves_plane:
        return families.generic(ctx, node, f"{op} moves positions of the plane")
    return families.generic(ctx, node, f"no rule for {op}")


def _conv_function(ctx: Context, node: TracedNode, data: TracedNode | None, layout: Layout) -> Layout:
    if data is None or layout.kind != "image":
        return families.generic(ctx, node, f"{node.op} reads a tensor of layout {layout.kind}")
    weight = node.arg("weight")
    shape = weight.shape if isinstance(weight, TracedNode) else None
    if shape is None or len(shape) != 4:
        return ctx.not_understood(node, "a convolution whose filter shape is unknown")
    kernel = (int(shape[-2]), int(shape[-1]))
    transposed = node.op == "conv_transpose2d" or bool(node.arg("transposed", False))
    problem = families.conv_weight(ctx, node, weight)
    stride, dilation = pair(node.arg("stride", 1)), pair(node.arg("dilation", 1))
    if transposed:
        families.transposed(
            ctx,
            node,
            plane(data),
            kernel,
            stride,
            pair(node.arg("padding", 0)),
            pair(node.arg("output_padding", 0)),
            dilation,
        )
    else:
        families.window(
            ctx, node, plane(data), kernel, stride, node.arg("padding", 0), dilation, False, "convolution"
        )
    if problem:
        ctx.rows[-1].understood = False
        ctx.rows[-1].effect += f"; {problem}"
        return UNKNOWN
    return IMAGE


def _pool_function(ctx: Context, node: TracedNode, data: TracedNode | None, layout: Layout) -> Layout:
    if data is None or layout.kind != "image":
        return families.generic(ctx, node, f"{node.op} reads a tensor of layout {layout.kind}")
    kernel = pair(node.arg("kernel_size"))
    stride_arg = node.arg("stride")
    stride = kernel if stride_arg is None or stride_arg == [] or stride_arg == () else pair(stride_arg)
    padding = 0 if node.op == "lp_pool2d" else node.arg("padding", 0)
    dilation = pair(node.arg("dilation", 1))
    families.window(
        ctx,
        node,
        plane(data),
        kernel,
        stride,
        padding,
        dilation,
        bool(node.arg("ceil_mode", False)),
        "pooling",
        (
            "max" if node.op.startswith("max") else "avg",
            bool(node.arg("count_include_pad", True)),
            node.arg("divisor_override"),
        ),
    )
    if node.is_tuple:
        return Layout("tuple", items=(IMAGE, UNKNOWN))  # values, and indices that do not move like values
    return IMAGE


def _interpolate(ctx: Context, node: TracedNode, data: TracedNode | None, layout: Layout) -> Layout:
    if data is None:
        return VALUE
    size = plane(data)
    if node.op == "interpolate":
        mode = node.arg("mode", "nearest")
        return families.resize(
            ctx,
            node,
            layout,
            size,
            mode,
            node.arg("align_corners"),
            node.arg("scale_factor"),
            node.arg("recompute_scale_factor"),
            bool(node.arg("antialias", False)),
        )
    name = node.op.removeprefix("upsample_").removesuffix("2d")
    antialias = name.endswith("_aa")
    name = name.removesuffix("_aa")
    mode = {
        "nearest": "nearest",
        "nearest_exact": "nearest-exact",
        "bilinear": "bilinear",
        "bicubic": "bicubic",
    }.get(name)
    if mode is None:
        return ctx.not_understood(node, f"no rule for {node.op}")
    scales = node.arg("scale_factors")
    if scales is None and node.arg("scales_h") is not None:
        scales = [node.arg("scales_h"), node.arg("scales_w")]
    return families.resize(ctx, node, layout, size, mode, node.arg("align_corners"), scales, None, antialias)


def analyse(view: TracedModel, symmetry: Symmetry, input_layout: Layout = IMAGE) -> Analysis:
    """Apply the rules to every node of ``view`` for ``symmetry``, the input carrying ``input_layout``."""
    ctx = Context(symmetry, {}, [], [], set())
    output = VALUE
    for node in view.nodes:
        if node.kind == "input":
            layout = input_layout if node is view.input else UNKNOWN
        elif node.kind == "attribute":
            layout = Layout("constant")
        elif node.kind == "module":
            layout = _module_rule(ctx, node)
        elif node.kind == "function":
            layout = _function_rule(ctx, node)
        else:
            output = ctx.layout(node.arg("input"))
            if output.kind == "tuple" and len(output.items) == 1:
                output = output.items[0]
            continue
        moving_inputs = any(ctx.layout(i).kind in MOVING for i in node.inputs)
        if node.kind in ("module", "function") and layout.kind == "constant" and moving_inputs:
            layout = UNKNOWN
        ctx.layouts[node.name] = layout
    groups = sorted(ctx.groups)
    if len(groups) > 1:
        raise ValueError(f"the model mixes point groups {groups}; pass group=")
    return Analysis(ctx.rows, ctx.layouts, output, ctx.averages, groups[0] if groups else None)
