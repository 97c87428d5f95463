"""Soft translation equivariance: layers whose amount of equivariance a prior can learn
(van der Ouderaa, Immer & van der Wilk, NeurIPS 2023).

A block maps ``(B, C, H, W) -> (B, C', H/s, W/s)`` through one or two *paths*, then ReLU:

- ``conv``: 3x3 convolution with circular padding (exactly equivariant to circular shifts), stride 2
  by adaptive polyphase subsampling (`polyphase_subsample`), which keeps that equivariance;
- ``fc``: a dense linear map over channels and positions (no symmetry at all);
- ``ffc``: the factored dense map ``W[c', c, y, x] = V[y, c', c] U[c', c, x]`` (``C' C (X + Y)`` weights
  instead of ``C' C X Y``): two `BlockLinear` maps;
- ``fc+conv`` and ``ffc+conv``: the average of both paths, a residual-pathway prior: each path's
  parameters get their own prior precision, so the marginal likelihood can switch a path off;
- ``s-conv``, ``s-fc`` and ``s-fc+s-conv``: the sparsified paths of `eqlab.nn._sparse` (weights from
  values at random anchor points, RBF-interpolated);
- ``p4``: a group convolution on the rotation group p4 (Section 6.3's rotation path), and
  ``p4+conv+ffc``: the average of the p4, the convolutional and the factored dense path, one prior
  precision per path and layer (`_GroupPath`).

Weights are Kaiming-uniform for ReLU and biases start at zero, as in the paper's code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from eqlab._arguments import choice, describe, flag, integer, tensor
from eqlab._options import Option
from eqlab.gconv._conv import GroupConv2d, LiftingConv2d
from eqlab.nn._primitives import BlockLinear, block_geometry, block_size, polyphase_subsample
from eqlab.nn._sparse import SparseConv, SparseDense

__all__ = ["PATHS", "SoftBlock", "SoftPath", "soft_backbone"]


class SoftPath(Option):
    """The paths of a `SoftBlock` (van der Ouderaa et al. 2023, Sections 4-5)."""

    CONV = "conv"
    """3x3 convolution, circular padding: exactly equivariant to circular translations."""
    FC = "fc"
    """A dense map over channels and positions: no symmetry at all."""
    FFC = "ffc"
    """The factored dense map ``W[c', c, y, x] = V[y, c', c] U[c', c, x]``: no symmetry, fewer weights."""
    FC_CONV = "fc+conv"
    """The average of the dense and the convolutional path (a residual-pathway prior)."""
    FFC_CONV = "ffc+conv"
    """The average of the factored dense and the convolutional path."""
    S_CONV = "s-conv"
    """The convolution with its filter interpolated from a few anchor values (sparsified)."""
    S_FC = "s-fc"
    """The factored dense map with both factors interpolated from anchor values (sparsified)."""
    S_FC_S_CONV = "s-fc+s-conv"
    """The average of the two sparsified paths."""
    P4 = "p4"
    """A p4 group convolution (`eqlab.nn.LiftingConv2d` in the first block, `eqlab.nn.GroupConv2d` in
    later ones), circular padding: exactly equivariant to quarter turns; its channels hold the group
    axis, folded (channel ``c * 4 + g``)."""
    P4_CONV_FFC = "p4+conv+ffc"
    """The average of the p4, the convolutional and the factored dense path (Section 6.3)."""


PATHS = SoftPath.values()


class _Dense(nn.Module):
    """The ``fc`` path: Linear over flattened channels and positions, reshaped back."""

    def __init__(self, c_in: int, c_out: int, size: int, stride: int) -> None:
        super().__init__()
        self.c_out, self.size_out = c_out, size // stride
        self.linear = nn.Linear(c_in * size * size, c_out * self.size_out**2)
        nn.init.kaiming_uniform_(self.linear.weight, nonlinearity="relu")
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1)).view(-1, self.c_out, self.size_out, self.size_out)


class _Factored(nn.Module):
    """The ``ffc`` path: ``U`` maps each input channel's positions to the output channels, ``V`` maps
    each output channel's input channels to the output positions."""

    def __init__(self, c_in: int, c_out: int, size: int, stride: int) -> None:
        super().__init__()
        self.c_out, self.size_out = c_out, size // stride
        self.u = BlockLinear(c_in, size * size, c_out, bias=False)
        self.v = BlockLinear(c_out, c_in, self.size_out**2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.u(x.flatten(2))  # (B, C, C')
        out = self.v(t.transpose(1, 2))  # (B, C', Y)
        return out.view(-1, self.c_out, self.size_out, self.size_out)


class _Conv(nn.Module):
    """The ``conv`` path: circular 3x3 convolution, then polyphase subsampling for stride 2."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="circular")
        nn.init.kaiming_uniform_(self.conv.weight, nonlinearity="relu")
        assert self.conv.bias is not None
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return polyphase_subsample(out) if self.stride == 2 else out


class _GroupPath(nn.Module):
    """The ``p4`` path: a 3x3 group convolution on p4 with circular padding, then polyphase subsampling
    for stride 2; ``(B, C, H, W) -> (B, C', H / stride, W / stride)`` with ``C' = 4 C'_g``.

    The group axis lives in the channels, folded channel-major (channel ``c * 4 + g`` is orientation
    ``g`` of group channel ``c``, as `GroupConv2d.to_conv2d`): the first block lifts its ``C`` image
    channels (`LiftingConv2d`, ``C'_g = C' / 4`` filters), a later block reads its input as ``C / 4``
    group channels (`GroupConv2d`). The conv and dense paths beside it read and write the same folded
    channels as plain channels, so only this path knows which channels are one orientation of another;
    the block's ReLU acts per entry and keeps the path's equivariance. Circular padding and adaptive
    polyphase subsampling (which picks the phase with the largest entry, a choice a quarter turn
    carries along unless two phases tie for it) keep the path exactly equivariant to quarter turns of
    the torus (of even size, turned about its centre).

    The paper builds its rotation path as one convolution shared over four rotated copies of the
    input, rotated back. Rotating the filter instead (eqlab's bank expansion) gives the same lifting
    layer's outputs up to where each copy is stored; in later blocks this path is a full group
    convolution that mixes the four orientations of its input with filters of ``4 C C' 9`` free
    weights, where the rotated-copies construction applies one ``C C' 9`` convolution to each rotated
    copy and only the channel mixing of the next layer couples them.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, group_input: bool) -> None:
        super().__init__()
        if c_out % 4:
            raise ValueError(
                f"c_out must be a multiple of 4 for the p4 path (the folded group axis), got {c_out}"
            )
        if group_input and c_in % 4:
            raise ValueError(
                f"c_in must be a multiple of 4 for a p4 path reading folded group channels, got {c_in}"
            )
        self.stride, self.group_input = stride, group_input
        self.gconv: LiftingConv2d | GroupConv2d
        if group_input:
            self.gconv = GroupConv2d(c_in // 4, c_out // 4, 3, "p4", padding=1, padding_mode="circular")
        else:
            self.gconv = LiftingConv2d(c_in, c_out // 4, 3, "p4", padding=1, padding_mode="circular")
        nn.init.kaiming_uniform_(self.gconv.weight, nonlinearity="relu")  # fan-in C |G_in| 9
        assert self.gconv.bias is not None
        nn.init.zeros_(self.gconv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.group_input:
            x = x.unflatten(1, (-1, 4))
        out = self.gconv(x).flatten(1, 2)
        return polyphase_subsample(out) if self.stride == 2 else out


class SoftBlock(nn.Module):
    """One block: ``ReLU`` of a path or of the average of two (see `SoftPath`):
    ``(B, C, H, W) -> (B, C', H / stride, W / stride)``.

    Parameters
    ----------
    path
        One of `SoftPath` (or its string).
    c_in, c_out
        Channels.
    size
        Input height and width (the dense paths need it).
    stride
        1 or 2.
    group_input
        For the ``p4`` paths: the input holds ``c_in / 4`` folded p4 group channels (a later block,
        `GroupConv2d`) rather than an image (the first block, `LiftingConv2d`). Other paths ignore it.
        ``c_out`` (and ``c_in`` here) must be multiples of 4 for a ``p4`` path.

    Attributes
    ----------
    conv, dense, group
        The paths (``None`` where the block has none): `SoftPath` decides which.
    """

    def __init__(
        self, path: str, c_in: int, c_out: int, size: int, stride: int = 1, *, group_input: bool = False
    ) -> None:
        super().__init__()
        path = choice(path, "path", PATHS)
        c_in, c_out, stride = block_geometry(c_in, c_out, stride)
        size = block_size(size, stride)
        group_input = flag(group_input, "group_input")
        self.path, self.c_in, self.size = path, c_in, size
        parts = path.split("+")
        conv: nn.Module | None = None
        dense: nn.Module | None = None
        self.group = _GroupPath(c_in, c_out, stride, group_input) if "p4" in parts else None
        if "conv" in parts:
            conv = _Conv(c_in, c_out, stride)
        elif "s-conv" in parts:  # the paper's reduce(0.8) alone, reduce(0.5) beside S-FC
            conv = SparseConv(c_in, c_out, stride, factor=0.8 if path == "s-conv" else 0.5)
        if "fc" in parts:
            dense = _Dense(c_in, c_out, size, stride)
        elif "ffc" in parts:
            dense = _Factored(c_in, c_out, size, stride)
        elif "s-fc" in parts:
            dense = SparseDense(c_in, c_out, size, stride, factor=0.5)
        self.conv, self.dense = conv, dense

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, C', H / stride, W / stride)``."""
        tensor(x, "x", ndim=4, floating=True, nonempty=False)
        if x.shape[1] != self.c_in or (self.dense is not None and tuple(x.shape[-2:]) != (self.size,) * 2):
            size = f"{self.size}, {self.size}" if self.dense is not None else "H, W"
            raise ValueError(
                f"SoftBlock({self.path!r}) expects x of shape (B, {self.c_in}, {size}), got {tuple(x.shape)}"
            )
        outs = [p(x) for p in (self.group, self.conv, self.dense) if p is not None]
        return torch.relu(outs[0] if len(outs) == 1 else sum(outs[1:], outs[0]) / len(outs))


def _integers(values: Any, name: str, minimum: int, maximum: int | None) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of integers, got {describe(values)}")
    return tuple(integer(v, f"{name}[{i}]", minimum=minimum, maximum=maximum) for i, v in enumerate(values))


def soft_backbone(
    path: str,
    alpha: int = 4,
    size: int = 16,
    in_channels: int = 1,
    num_classes: int = 10,
    widths: tuple[int, ...] = (1, 2, 2, 4, 4),
    strides: tuple[int, ...] = (1, 2, 2, 2, 2),
) -> nn.Sequential:
    """The paper's backbone scaled down: blocks with ``alpha * widths`` channels and the given strides
    (defaults: 16 x 16 -> 1 x 1 in five blocks), then flatten, ``Linear(-> 4 alpha)``, ReLU and a linear
    classifier (the paper: eight blocks on 32 x 32, head width 64 alpha). With a ``p4`` path the first
    block lifts the image and later blocks read the folded group channels (``alpha * width`` must be a
    multiple of 4)."""
    path = choice(path, "path", PATHS)
    alpha = integer(alpha, "alpha", minimum=1)
    size = integer(size, "size", minimum=1)
    in_channels = integer(in_channels, "in_channels", minimum=1)
    num_classes = integer(num_classes, "num_classes", minimum=1)
    widths = _integers(widths, "widths", 1, None)
    strides = _integers(strides, "strides", 1, 2)
    if len(widths) != len(strides):
        raise ValueError(
            f"widths and strides must have one entry per block, got {len(widths)} (widths) and "
            f"{len(strides)} (strides)"
        )
    if size % math.prod(strides):
        raise ValueError(
            f"size must be a multiple of the product of strides, {math.prod(strides)}, got {size}"
        )
    layers: list[nn.Module] = []
    c_in = in_channels
    for i, (width, stride) in enumerate(zip(widths, strides, strict=True)):
        layers.append(SoftBlock(path, c_in, alpha * width, size, stride, group_input=i > 0))
        c_in, size = alpha * width, size // stride
    layers += [
        nn.Flatten(),
        nn.Linear(c_in * size * size, 4 * alpha),
        nn.ReLU(),
        nn.Linear(4 * alpha, num_classes),
    ]
    for layer in layers[-3::2]:
        assert isinstance(layer, nn.Linear)
        nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)
