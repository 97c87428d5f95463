"""Converters of the parameter-sharing and representation layers (`eqlab.sharing`, `RepLinear`,
`BasisActivation`): each becomes a `torch.nn.Linear` holding its materialised (untied) matrix.

The size-generic `SymmetricLinear`, `SetLinear` and `GraphLinear` are exported for the set or graph size
``n`` of the example input: a `torch.nn.Linear` on the flattened ``n`` (or ``n x n``) features, whose
matrix is read off the layer by applying it to the unit vectors in float64. The exported layer refuses
another ``n`` (its flattened size no longer matches).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn

from eqlab._export._modules import Apply, FixedMatmul, OrbitMean, Unsqueeze
from eqlab._export._walk import Converter, ExportContext
from eqlab.activations._basis_activation import BasisActivation
from eqlab.nn._replinear import RepLinear
from eqlab.sharing._ign import SymmetricLinear
from eqlab.sharing._linear import EquivariantLinear
from eqlab.sharing._mlp import EquivariantMLP, OrbitPool

__all__ = ["SHARING_CONVERTERS"]


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    """A `torch.nn.Linear` holding copies of ``weight`` ``(out, in)`` and ``bias`` ``(out,)``."""
    linear = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    linear = linear.to(device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        linear.weight.copy_(weight)
        if bias is not None and linear.bias is not None:
            linear.bias.copy_(bias)
    return linear


def _equivariant_linear(layer: Any, context: ExportContext) -> nn.Module:
    linear = layer.to_linear()
    if not layer.channelled:
        return linear
    return nn.Sequential(nn.Flatten(-2), linear, nn.Unflatten(-1, (layer.out_features, layer.out_channels)))


def _orbit_pool(layer: Any, context: ExportContext) -> nn.Module:
    labels = layer.labels
    membership = labels[None, :] == torch.arange(layer.num_orbits, device=labels.device)[:, None]
    counts = layer.counts
    return OrbitMean(membership.to(counts.dtype), counts[:, None].clone())


def _mlp(model: Any, context: ExportContext) -> nn.Module:
    parts: list[nn.Module] = [Unsqueeze(-1)] if model._flat_input else []
    parts += [
        context.convert(model.body, "body"),
        context.convert(model.pool, "pool"),
        nn.Flatten(-2),
        context.convert(model.head, "head"),
    ]
    return nn.Sequential(*parts)


def _rep_linear(layer: Any, context: ExportContext) -> nn.Module:
    with torch.no_grad():
        return _linear(layer.weight, layer.bias)


def _symmetric(layer: Any, context: ExportContext) -> nn.Module:
    """The layer at the example's ``n`` as a `torch.nn.Linear` on flattened features."""
    shape = context.input_shape(layer)
    order = layer.in_order
    n, channels = shape[-2], layer.in_channels
    size = n**order * channels
    probe = copy.deepcopy(layer).double()
    probe.bias = None
    with torch.no_grad():
        unit = torch.eye(size, dtype=torch.float64, device=layer.weight.device)
        columns = probe(unit.view(size, *([n] * order), channels)).reshape(size, -1)
        biased = copy.deepcopy(layer).double()
        zero = torch.zeros(1, *([n] * order), channels, dtype=torch.float64, device=layer.weight.device)
        bias = biased(zero).reshape(-1) if layer.bias is not None else None
    dtype = layer.weight.dtype
    linear = _linear(columns.T.to(dtype), None if bias is None else bias.to(dtype))
    out_shape = (*([n] * layer.out_order), layer.out_channels)
    parts: list[nn.Module] = [nn.Flatten(-(order + 1)), linear]
    if layer.out_order:
        parts.append(nn.Unflatten(-1, out_shape))
    assert math.prod(out_shape) == linear.out_features
    return nn.Sequential(*parts)


def _basis_activation(layer: Any, context: ExportContext) -> nn.Module:
    """``T^-1 f(T x)`` as ``x @ T.T``, the activation, ``@ T^-1.T``, the maps cast to the input's dtype."""
    activation = layer.activation
    inner = (
        context.convert(activation, "activation") if isinstance(activation, nn.Module) else Apply(activation)
    )
    return nn.Sequential(FixedMatmul(layer.forward_map), inner, FixedMatmul(layer.inverse_map))


SHARING_CONVERTERS: dict[type, Converter] = {
    EquivariantLinear: _equivariant_linear,
    EquivariantMLP: _mlp,
    OrbitPool: _orbit_pool,
    RepLinear: _rep_linear,
    SymmetricLinear: _symmetric,
    BasisActivation: _basis_activation,
}
"""The converter of each parameter-sharing and representation layer class."""
