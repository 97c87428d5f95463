"""Converters of the soft-equivariance blocks and their paths (`eqlab.nn._soft`, `eqlab.nn._sparse`,
`eqlab.nn._primitives`) and of `OrbitAverage`.

A `SoftBlock` is exported by converting whatever paths it holds (its children), so a path made of eqlab
and torch layers exports through their own converters; the stride-2 polyphase subsampling becomes the
plain `PolyphaseSubsample`, the grouped maps of the factored paths `BlockMatmul`, and the fixed RBF
interpolations of the sparsified paths bias-free `torch.nn.Linear` and depthwise `torch.nn.Conv2d`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from eqlab._export._modules import BlockMatmul, ImageOrbitMean, PathAverage, PolyphaseSubsample, SwapAxes
from eqlab._export._walk import Converter, ExportContext
from eqlab.groups._image import d4_inverse
from eqlab.nn import _orbit
from eqlab.nn._orbit import OrbitAverage
from eqlab.nn._primitives import BlockLinear
from eqlab.nn._soft import SoftBlock, _Conv, _Dense, _Factored, _GroupPath
from eqlab.nn._sparse import SparseConv, SparseDense

__all__ = ["SOFT_CONVERTERS"]


def _fixed_linear(weight: torch.Tensor) -> nn.Linear:
    """A bias-free `torch.nn.Linear` with a copy of ``weight`` ``(out, in)``."""
    linear = nn.Linear(weight.shape[1], weight.shape[0], bias=False).to(weight.device, weight.dtype)
    with torch.no_grad():
        linear.weight.copy_(weight)
    return linear


def _strided(layers: list[nn.Module], stride: int) -> nn.Module:
    return nn.Sequential(*layers, PolyphaseSubsample()) if stride == 2 else nn.Sequential(*layers)


def _block_linear(layer: Any, context: ExportContext) -> nn.Module:
    return BlockMatmul(layer.weight, layer.bias)


def _conv_path(path: Any, context: ExportContext) -> nn.Module:
    return _strided([context.convert(path.conv, "conv")], path.stride)


def _dense_path(path: Any, context: ExportContext) -> nn.Module:
    side = path.size_out
    return nn.Sequential(
        nn.Flatten(1), context.convert(path.linear, "linear"), nn.Unflatten(1, (path.c_out, side, side))
    )


def _factored_path(path: Any, context: ExportContext) -> nn.Module:
    side = path.size_out
    return nn.Sequential(
        nn.Flatten(2),
        context.convert(path.u, "u"),
        SwapAxes(1, 2),
        context.convert(path.v, "v"),
        nn.Unflatten(2, (side, side)),
    )


def _sparse_dense(path: Any, context: ExportContext) -> nn.Module:
    side = path.size_out
    return nn.Sequential(
        nn.Flatten(2),
        _fixed_linear(path.projection_in),
        context.convert(path.u, "u"),
        SwapAxes(1, 2),
        context.convert(path.v, "v"),
        _fixed_linear(path.interpolation_out.T),
        nn.Unflatten(2, (side, side)),
    )


def _sparse_conv(path: Any, context: ExportContext) -> nn.Module:
    basis = path.basis
    depthwise = nn.Conv2d(
        path.c_in, basis.shape[0], 3, padding=1, padding_mode="circular", groups=path.c_in, bias=False
    ).to(basis.device, basis.dtype)
    with torch.no_grad():
        depthwise.weight.copy_(basis)
    return _strided([depthwise, context.convert(path.mix, "mix")], path.stride)


def _group_path(path: Any, context: ExportContext) -> nn.Module:
    """The p4 path reads and writes the group axis folded into the channels (``c * 4 + g``), the layout of
    `to_conv2d`: its plain form is that `torch.nn.Conv2d` alone, then the subsampling."""
    return _strided([path.gconv.to_conv2d()], path.stride)


def _soft_block(block: Any, context: ExportContext) -> nn.Module:
    """The block's paths (its children, in the order it holds them), each exported, averaged."""
    paths = [context.convert(child, name) for name, child in block.named_children()]
    if not paths:
        raise TypeError(f"eqlab.export cannot export the SoftBlock at {context.path}: it holds no path")
    return PathAverage(paths)


def _orbit_average(layer: Any, context: ExportContext) -> nn.Module:
    if not isinstance(layer.model, nn.Module):  # a function: its weights live outside the copy
        raise TypeError(
            f"eqlab.export cannot export the OrbitAverage at {context.path}: its model is a "
            f"{type(layer.model).__name__}, not a torch.nn.Module, so the export could not copy what it "
            "computes; wrap the function's layers in a module"
        )
    model = context.convert(layer.model, "model")
    action: Any = layer.out_action
    if action is _orbit._invariant:
        action = "invariant"
    elif action is _orbit._image:
        action = "image"
    elements = tuple(layer.elements)
    return ImageOrbitMean(model, elements, tuple(d4_inverse(g) for g in elements), action)


SOFT_CONVERTERS: dict[type, Converter] = {
    BlockLinear: _block_linear,
    _Conv: _conv_path,
    _Dense: _dense_path,
    _Factored: _factored_path,
    _GroupPath: _group_path,
    SparseDense: _sparse_dense,
    SparseConv: _sparse_conv,
    SoftBlock: _soft_block,
    OrbitAverage: _orbit_average,
}
"""The converter of each soft block, path and `OrbitAverage` class."""
