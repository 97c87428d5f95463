"""`transform_network`: the network ``T(W)`` with ``f_T(W)(x) = f_W(t(x))`` for a flip or a rotation.

For a cross-correlation, ``conv(t x, W) = t conv(x, t^-1 W)`` when ``t`` maps the sampling grid onto
itself, so every convolution gets the inversely transformed filters and every feature map of
``T(W)`` at ``x`` is the transformed-back feature map of ``W`` at ``t x``. Global pooling forgets the
transform; a flatten into a linear head does not, and the head's weight, viewed as ``(out, C, H, W)``,
is transformed back the same way. Batch norm, activations and biases are not spatial and stay.

Exactness needs symmetric padding (PyTorch's ``padding=int`` is; ``padding="same"`` with an even
kernel is not) and, for strided layers and pools, an input size whose sampling grid maps onto itself
(`eqlab.exactness`): pass ``input_size`` to have it checked.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from eqlab._arguments import choice, integer, tensor
from eqlab._arguments import module as check_module
from eqlab.exactness import check as check_exactness
from eqlab.exactness._measure import input_batches
from eqlab.layerwise._spec import spec_of
from eqlab.testing import relative_error

__all__ = ["TRANSFORMS", "apply_transform", "inverse_transform", "transform_network"]

_AGREEMENT = 1e-10
"""The largest float64 relative gap between ``T(W)(x)`` and ``W(t x)`` that `transform_network` accepts."""

TRANSFORMS = ("hflip", "vflip", "rot90")


def _check_transform(transform: str) -> None:
    choice(transform, "transform", TRANSFORMS)


def apply_transform(x: torch.Tensor, transform: str, times: int = 1) -> torch.Tensor:
    """``t^times`` on the last two axes: a mirror (``hflip``: left-right, ``vflip``: top-bottom) or
    `torch.rot90` by quarter turns."""
    tensor(x, "x", min_ndim=2, nonempty=False)
    _check_transform(transform)
    times = integer(times, "times")
    if transform == "rot90":
        return torch.rot90(x, times, dims=(-2, -1))
    if times % 2 == 0:
        return x
    return torch.flip(x, dims=(-1,) if transform == "hflip" else (-2,))


def inverse_transform(x: torch.Tensor, transform: str) -> torch.Tensor:
    """``t^-1`` on the last two axes."""
    return apply_transform(x, transform, -1 if transform == "rot90" else 1)


def transform_network(model: nn.Module, transform: str, input_size: int | None = None) -> nn.Module:
    """The network ``T(W)`` computing ``x -> model(t(x))``, a copy with transformed filters.

    A model whose output is still an image (a segmentation net, a feature extractor) gives
    ``x -> t^-1(model(t(x)))``: every feature map of ``T(W)`` is the transformed-back map of ``W``.

    Parameters
    ----------
    model
        A CNN of Conv2d, BatchNorm, pointwise activations, pooling, global pooling, flatten and Linear
        layers, sequential or with residual blocks (anything `derive_spec` traces).
    transform
        ``"hflip"``, ``"vflip"`` or ``"rot90"`` (`torch.rot90`, one counter-clockwise quarter turn;
        square inputs).
    input_size
        When given, the strided layers and pools are checked to be exact at this (square) input size
        by `eqlab.exactness`, and a ValueError names the first that is not.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ...                     nn.Linear(4, 2)).double()
    >>> x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    >>> torch.allclose(transform_network(net, "rot90")(x), net(torch.rot90(x, 1, (-2, -1))))
    True
    """
    check_module(model, "model")
    _check_transform(transform)
    if input_size is not None:
        integer(input_size, "input_size", minimum=1)
    spec = spec_of(model, "model")
    flat_input = [name for name, block in spec.flattened.items() if block == -1]
    if flat_input:
        raise ValueError(
            f"model: {flat_input[0]} reads the flattened input image; transform_network needs a conv first"
        )
    modules = dict(model.named_modules())
    for name, module in modules.items():
        if isinstance(module, nn.Conv2d) and isinstance(module.padding, str) and module.padding == "same":
            kh, kw = module.kernel_size
            if (kh - 1) * module.dilation[0] % 2 or (kw - 1) * module.dilation[1] % 2:
                raise ValueError(
                    f"model: {name} has padding='same' with an even kernel, which pads asymmetrically"
                )
    report = None
    if input_size is not None:
        group = {"rot90": "p4", "hflip": "hflip", "vflip": "vflip"}[transform]
        report = check_exactness(model, input_size, confirm=False, group=group)
        broken = [layer for layer in report.spatial_layers if not layer.exact]
        if broken:
            first = broken[0]
            if not first.understood:
                what = f"is not understood ({first.effect})"
            elif any(first.offset):
                what = f"samples a grid {first.offset} pixels off its mirror image"
            else:
                what = f"is not the same along height and width, as {transform} needs ({first.effect})"
            raise ValueError(
                f"{first.name} ({first.kind}) {what} at input size {input_size}; "
                f"{transform} is not exact there"
            )
    out = copy.deepcopy(model)
    out_modules = dict(out.named_modules())
    with torch.no_grad():
        for name in spec.layers:
            layer = out_modules[name]
            if isinstance(layer, nn.Conv2d):
                if transform == "rot90" and layer.kernel_size[0] != layer.kernel_size[1]:
                    raise ValueError(
                        f"model: {name} has a {layer.kernel_size} kernel; rot90 needs square kernels"
                    )
                layer.weight.copy_(inverse_transform(layer.weight, transform))
            elif spec.flattened.get(name) == -1:
                raise ValueError(
                    f"{name} reads the flattened input image; transform_network needs a conv first"
                )
            elif name in spec.flattened and spec.flattened[name] > 1:
                if not isinstance(layer, nn.Linear):
                    raise TypeError(f"{name}: expected a Linear layer")
                block = spec.flattened[name]
                side = math.isqrt(block)
                if side * side != block:
                    raise ValueError(
                        f"{name} reads a flattened {block}-pixel map per channel; only square maps work"
                    )
                w = layer.weight.view(layer.out_features, -1, side, side)
                layer.weight.copy_(inverse_transform(w, transform).reshape(layer.weight.shape))
    if report is not None:
        _confirm(model, out, transform, report.input_shape, input_size)
    return out


def _confirm(model: nn.Module, out: nn.Module, transform: str, shape: tuple[int, ...], size: object) -> None:
    """Measure ``out(x)`` against ``model(t(x))`` (transformed back when it is an image) in float64 on
    random normal and pixel-valued inputs; raise when they differ."""
    error = 0.0
    for x in input_batches(shape, 2, torch.Generator().manual_seed(0)):
        with torch.no_grad():
            want = copy.deepcopy(model).double().eval()(apply_transform(x, transform))
            got = copy.deepcopy(out).double().eval()(x)
        if isinstance(want, torch.Tensor) and want.dim() >= 3:
            want = inverse_transform(want, transform)
        found = relative_error(got, want) if got.shape == want.shape else math.inf
        error = found if not found <= error else error
    if not error <= _AGREEMENT:
        raise ValueError(
            f"at input size {size} the transformed network differs from model({transform}(x)) by a relative "
            f"{error:.2g} (float64): {transform} is not exact for this model there"
        )
