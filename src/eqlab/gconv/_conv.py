"""Lifting and group convolutions on a point group of the plane (Cohen & Welling 2016), computed with
one ``conv2d``.

The free filters are expanded into a bank of transformed copies by one index gather:

- lifting, ``(B, C_in, H, W) -> (B, C_out, |G|, H', W')``: the filter of output orientation ``g`` is
  ``T_g psi`` (the filter rotated / reflected like an image);
- group, ``(B, C_in, |G|, H, W) -> (B, C_out, |G|, H', W')``: the filter of output orientation ``g`` is
  ``g . psi`` (spatially transformed and its input group axis moved, `PointGroup.act_on_features`).

Both commute with the action of `PointGroup` on their outputs, whenever every strided layer's
sampling grid maps onto itself (see `eqlab.exactness`); with stride 1 and symmetric padding always.

Layout of the folded bank used by ``conv2d`` and `to_conv2d`: output channel ``c * |G| + g``, input
channel ``c * |G| + h`` (group axis folded into channels, channel-major).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal, cast

import torch
import torch.nn.functional as F
from torch import nn

from eqlab._arguments import choice, flag, integer, integer_pair, tensor
from eqlab._tracing import is_tracing
from eqlab.groups._point import PointGroup, point_group

__all__ = ["GroupConv2d", "LiftingConv2d"]

_PADDING_MODES = ("zeros", "circular")


class _GroupConvBase(nn.Module):
    """Shared machinery: parameters, bank expansion, eval-mode cache, forward, export."""

    weight_index: torch.Tensor
    _lifting: ClassVar[bool]  # True: the input is an image; False: a group feature map

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        group: str | PointGroup = "p4",
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        in_channels = integer(in_channels, "in_channels", minimum=1)
        out_channels = integer(out_channels, "out_channels", minimum=1)
        kernel_size = integer(kernel_size, "kernel_size", minimum=1)
        self.group: PointGroup = point_group(group)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride = integer_pair(stride, "stride", minimum=1)
        self.padding = integer_pair(padding, "padding", minimum=0)
        self.dilation = integer_pair(dilation, "dilation", minimum=1)
        bias = flag(bias, "bias")
        self.padding_mode = choice(padding_mode, "padding_mode", _PADDING_MODES)
        n, k = self.group.order, kernel_size
        lifting = self._lifting
        in_orientations = 1 if lifting else n
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, in_orientations, k, k))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        base = torch.arange(in_orientations * k * k).view(in_orientations, k, k)
        if lifting:
            index = torch.stack([self.group.act_on_image(base, g) for g in range(n)])
        else:
            index = torch.stack([self.group.act_on_features(base, g) for g in range(n)])
        self.register_buffer("weight_index", index.reshape(-1), persistent=False)
        self._cache: tuple[Any, torch.Tensor, torch.Tensor | None] | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform like `torch.nn.Conv2d`, with fan-in counted over the input orientations."""
        fan_in = self.weight[0].numel()
        bound = 1.0 / math.sqrt(fan_in)
        with torch.no_grad():
            self.weight.uniform_(-bound, bound)
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)

    def _expand(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        n, k = self.group.order, self.kernel_size
        co, ci, gi = self.weight.shape[:3]
        bank = self.weight.reshape(co, ci, -1).index_select(2, self.weight_index)
        bank = bank.view(co, ci, n, gi, k, k).permute(0, 2, 1, 3, 4, 5).reshape(co * n, ci * gi, k, k)
        bias = None if self.bias is None else self.bias.repeat_interleave(n)
        return bank, bias

    def _params(self) -> list[torch.Tensor]:
        return [self.weight, self.bias] if self.bias is not None else [self.weight]

    def _cache_valid(self) -> bool:
        """Whether the cached bank was expanded from parameters equal to the current ones: same dtype and
        device, and equal entries (compared, so writes through ``.data``, which no version counter sees,
        drop it too; the free filters are small next to the convolution)."""
        if self._cache is None:
            return False
        saved = self._cache[0]
        return len(saved) == len(self._params()) and all(
            p.dtype == q.dtype and p.device == q.device and torch.equal(p, q)
            for p, q in zip(self._params(), saved, strict=True)
        )

    def _cacheable(self) -> bool:
        """Eval mode, no gradient to record for any parameter, not in inference mode (an inference
        tensor cannot be saved for a later backward), and plain parameters (not functorch's wrappers
        of ``torch.func``)."""
        params = self._params()
        return not (
            self.training
            or (torch.is_grad_enabled() and any(p.requires_grad for p in params))
            or torch.is_inference_mode_enabled()
            or any(torch._C._functorch.is_functorch_wrapped_tensor(p) for p in params)
        )

    def filter_bank(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The expanded bank ``(C_out |G|, C_in |G_in|, k, k)`` and bias ``(C_out |G|,)``, folded as in
        `to_conv2d` (``|G_in|`` is 1 for a `LiftingConv2d`, ``|G|`` for a `GroupConv2d`).

        Cached in eval mode when no gradient is being recorded for the weight or the bias, outside
        inference mode and ``torch.func``; the cache is dropped when a parameter's entries, dtype or
        device differ from those it was expanded from. Under ``torch.jit.trace``, ``torch.compile``,
        ``torch.export`` and ``torch.fx`` tracing the bank is always expanded (and the cache dropped), so
        a traced graph holds the expansion, never a cached constant.
        """
        if is_tracing() or not self._cacheable():
            self._cache = None
            return self._expand()
        if not self._cache_valid():
            bank, bias = self._expand()
            saved = tuple(p.detach().clone() for p in self._params())
            self._cache = (saved, bank.detach(), None if bias is None else bias.detach())
        assert self._cache is not None
        return self._cache[1], self._cache[2]

    def _fold_input(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _check_spatial(self, x: torch.Tensor) -> None:
        """Refuse an input too small for the kernel (or for circular padding) before torch does."""
        for axis, (n, p, d) in enumerate(zip(x.shape[-2:], self.padding, self.dilation, strict=True)):
            reach = d * (self.kernel_size - 1) + 1
            if n + 2 * p < reach or n == 0:
                raise ValueError(
                    f"x must be at least {max(reach - 2 * p, 1)} pixels along {('height', 'width')[axis]} "
                    f"for kernel_size={self.kernel_size}, padding={self.padding}, dilation={self.dilation}, "
                    f"got shape {tuple(x.shape)}"
                )
            if self.padding_mode == "circular" and p > n:
                raise ValueError(
                    f"x must be at least {p} pixels along {('height', 'width')[axis]} for circular padding "
                    f"{self.padding}, got shape {tuple(x.shape)}"
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """See the class docstring for shapes."""
        folded = self._fold_input(x)
        bank, bias = self.filter_bank()
        padding: Any = self.padding
        if self.padding_mode == "circular":
            ph, pw = self.padding
            folded = F.pad(folded, (pw, pw, ph, ph), mode="circular")
            padding = 0
        out = F.conv2d(folded, bank, bias, self.stride, padding, self.dilation)
        return out.view(out.shape[0], self.out_channels, self.group.order, out.shape[-2], out.shape[-1])

    def to_conv2d(self) -> nn.Conv2d:
        """A plain `torch.nn.Conv2d` computing this layer with the group axes folded into channels,
        channel-major: output channel ``c * |G| + g`` and, for a `GroupConv2d`, input channel
        ``c * |G| + h``. ``conv(x.flatten(1, 2)).unflatten(1, (C_out, |G|))`` equals a `GroupConv2d`,
        ``conv(x).unflatten(1, (C_out, |G|))`` a `LiftingConv2d`."""
        with torch.no_grad():
            bank, bias = self._expand()
        conv = nn.Conv2d(
            bank.shape[1],
            bank.shape[0],
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            bias=bias is not None,
            padding_mode=cast(Literal["zeros", "circular"], self.padding_mode),
        ).to(device=bank.device, dtype=bank.dtype)
        with torch.no_grad():
            conv.weight.copy_(bank)
            if bias is not None and conv.bias is not None:
                conv.bias.copy_(bias)
        return conv

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"group={self.group.name!r}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"bias={self.bias is not None}"
            + (f", padding_mode={self.padding_mode!r}" if self.padding_mode != "zeros" else "")
        )


class LiftingConv2d(_GroupConvBase):
    """Lift an image to a group feature map: ``(B, C_in, H, W) -> (B, C_out, |G|, H', W')``.

    Parameters
    ----------
    in_channels, out_channels, kernel_size, stride, padding, dilation, bias
        As `torch.nn.Conv2d` (square kernels).
    group
        An `eqlab.groups.PointGroup`, or its name: ``"p4"`` (|G| = 4), ``"p4m"`` (|G| = 8), ``"rot180"``,
        ``"hflip"`` or ``"vflip"`` (|G| = 2).
    padding_mode
        ``"zeros"`` or ``"circular"`` (a torus).

    Attributes
    ----------
    weight
        ``(C_out, C_in, 1, kernel_size, kernel_size)``: the free filters; the filter of output orientation
        ``g`` is the free filter transformed like an image by ``g`` (see `filter_bank`).
    bias
        ``(C_out,)``, shared by the ``|G|`` orientations of each output channel; ``None`` without bias.
    group
        The `eqlab.groups.PointGroup`.
    in_channels, out_channels, kernel_size
        As given.
    stride, padding, dilation
        ``(height, width)`` pairs.
    padding_mode
        ``"zeros"`` or ``"circular"``.

    Examples
    --------
    >>> layer = LiftingConv2d(3, 8, 3, group="p4m", padding=1)
    >>> layer(torch.randn(2, 3, 9, 9)).shape
    torch.Size([2, 8, 8, 9, 9])
    """

    _lifting = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        group: str | PointGroup = "p4",
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, group, stride, padding, dilation, bias, padding_mode
        )

    # The shared methods, bound on the public class so that the API reference lists them with it.
    reset_parameters = _GroupConvBase.reset_parameters
    filter_bank = _GroupConvBase.filter_bank
    to_conv2d = _GroupConvBase.to_conv2d

    def _fold_input(self, x: torch.Tensor) -> torch.Tensor:
        tensor(x, "x", floating=True, nonempty=False)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"LiftingConv2d expects (B, {self.in_channels}, H, W) for x, got {tuple(x.shape)}"
            )
        self._check_spatial(x)
        return x


class GroupConv2d(_GroupConvBase):
    """Group convolution on group feature maps: ``(B, C_in, |G|, H, W) -> (B, C_out, |G|, H', W')``.

    Parameters
    ----------
    in_channels, out_channels, kernel_size, stride, padding, dilation, bias
        As `torch.nn.Conv2d` (square kernels); the channels do not count the group axis.
    group
        An `eqlab.groups.PointGroup`, or its name: ``"p4"`` (|G| = 4), ``"p4m"`` (|G| = 8), ``"rot180"``,
        ``"hflip"`` or ``"vflip"`` (|G| = 2).
    padding_mode
        ``"zeros"`` or ``"circular"`` (a torus).

    Attributes
    ----------
    weight
        ``(C_out, C_in, |G|, kernel_size, kernel_size)``: the free filters; the filter of output
        orientation ``g`` is the free filter transformed spatially by ``g``, with its input group axis
        permuted (see `filter_bank`).
    bias
        ``(C_out,)``, shared by the ``|G|`` orientations of each output channel; ``None`` without bias.
    group
        The `eqlab.groups.PointGroup`.
    in_channels, out_channels, kernel_size
        As given.
    stride, padding, dilation
        ``(height, width)`` pairs.
    padding_mode
        ``"zeros"`` or ``"circular"``.

    Examples
    --------
    >>> layer = GroupConv2d(4, 6, 3, group="p4", stride=2, padding=1)
    >>> layer(torch.randn(2, 4, 4, 9, 9)).shape
    torch.Size([2, 6, 4, 5, 5])
    """

    _lifting = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        group: str | PointGroup = "p4",
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, group, stride, padding, dilation, bias, padding_mode
        )

    # The shared methods, bound on the public class so that the API reference lists them with it.
    reset_parameters = _GroupConvBase.reset_parameters
    filter_bank = _GroupConvBase.filter_bank
    to_conv2d = _GroupConvBase.to_conv2d

    def _fold_input(self, x: torch.Tensor) -> torch.Tensor:
        n = self.group.order
        tensor(x, "x", floating=True, nonempty=False)
        if x.dim() != 5 or x.shape[1] != self.in_channels or x.shape[2] != n:
            raise ValueError(
                f"GroupConv2d({self.group.name}) expects (B, {self.in_channels}, {n}, H, W) for x, "
                f"got {tuple(x.shape)}"
            )
        self._check_spatial(x)
        return x.flatten(1, 2)
