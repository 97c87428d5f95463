"""Converters of the group-convolution layers (`eqlab.gconv`): the group axis is folded into the
channels as in `eqlab.gconv._conv` (channel ``c * |G| + g``), and each layer becomes its plain 2-D or
3-D torch counterpart."""

from __future__ import annotations

from typing import Any

from torch import nn

from eqlab._export._modules import GroupFolded, GroupReduce
from eqlab._export._walk import Converter, ExportContext
from eqlab.gconv._conv import GroupConv2d, LiftingConv2d
from eqlab.gconv._pool import GroupAvgPool2d, GroupBatchNorm2d, GroupMaxPool2d, GroupPool

__all__ = ["GROUP_CONVERTERS"]


def _lifting(layer: Any, context: ExportContext) -> nn.Module:
    return GroupFolded(layer.to_conv2d(), fold_input=False, order=layer.group.order)


def _group_conv(layer: Any, context: ExportContext) -> nn.Module:
    return GroupFolded(layer.to_conv2d(), fold_input=True, order=layer.group.order)


def _max_pool(layer: Any, context: ExportContext) -> nn.Module:
    pool = nn.MaxPool2d(
        layer.kernel_size, layer.stride, layer.padding, layer.dilation, False, layer.ceil_mode
    )
    return GroupFolded(pool, fold_input=True)


def _avg_pool(layer: Any, context: ExportContext) -> nn.Module:
    pool = nn.AvgPool2d(
        layer.kernel_size,
        layer.stride,
        layer.padding,
        layer.ceil_mode,
        layer.count_include_pad,
        layer.divisor_override,
    )
    return GroupFolded(pool, fold_input=True)


def _group_pool(layer: Any, context: ExportContext) -> nn.Module:
    return GroupReduce(layer.reduce)


def _batch_norm(layer: Any, context: ExportContext) -> nn.Module:
    """`torch.nn.BatchNorm3d` over ``(B, C, |G|, H, W)``: the same statistics and affine parameters, one
    per channel, shared over the group axis and space."""
    norm = nn.BatchNorm3d(
        layer.num_features,
        layer.eps,
        layer.momentum,
        layer.affine,
        layer.track_running_stats,
        bias=layer.bias is not None or not layer.affine,
    )
    # the layer's own tensors (copies), so the device and dtype follow it
    for name, value in layer.named_parameters(recurse=False):
        setattr(norm, name, nn.Parameter(value.detach().clone(), requires_grad=value.requires_grad))
    for name, value in layer.named_buffers(recurse=False):
        setattr(norm, name, None if value is None else value.detach().clone())
    return norm


GROUP_CONVERTERS: dict[type, Converter] = {
    LiftingConv2d: _lifting,
    GroupConv2d: _group_conv,
    GroupMaxPool2d: _max_pool,
    GroupAvgPool2d: _avg_pool,
    GroupPool: _group_pool,
    GroupBatchNorm2d: _batch_norm,
}
"""The converter of each group-convolution layer class."""
