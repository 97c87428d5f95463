"""Pooling and normalisation for group feature maps ``(B, C, |G|, H, W)``.

The layers take `torch.nn`'s arguments and check them at construction (torch would refuse a zero
stride or too much padding only at the first forward pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from eqlab._arguments import choice, describe, flag, integer, integer_pair, real, tensor

__all__ = ["GroupAvgPool2d", "GroupBatchNorm2d", "GroupMaxPool2d", "GroupPool"]


def _spatial(x: torch.Tensor, name: str) -> tuple[torch.Tensor, tuple[int, int]]:
    tensor(x, "x", nonempty=False)
    if x.dim() != 5:
        raise ValueError(f"{name} expects x to be group feature maps (B, C, |G|, H, W), got {tuple(x.shape)}")
    return x.flatten(1, 2), (x.shape[1], x.shape[2])


def _as_given(value: Any, pair: tuple[int, int]) -> int | tuple[int, int]:
    """The checked value in the form it was given: an ``int`` for an int, else the pair."""
    return pair if isinstance(value, Sequence) else pair[0]


def _check_padding(padding: tuple[int, int], limit: tuple[int, int], what: str, given: Any) -> None:
    for p, most in zip(padding, limit, strict=True):
        if p > most:
            raise ValueError(f"padding must be at most half of {what}, {limit}, got {given!r}")


class GroupMaxPool2d(nn.MaxPool2d):
    """Spatial max pooling of every orientation channel: ``(B, C, |G|, H, W) -> (B, C, |G|, H', W')``.
    Arguments as `torch.nn.MaxPool2d`, without ``return_indices``."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        kernel = integer_pair(kernel_size, "kernel_size", minimum=1)
        steps = kernel if stride is None else integer_pair(stride, "stride", minimum=1)
        pad = integer_pair(padding, "padding", minimum=0)
        dil = integer_pair(dilation, "dilation", minimum=1)
        reach = tuple((d * (k - 1) + 1) // 2 for k, d in zip(kernel, dil, strict=True))
        _check_padding(pad, (reach[0], reach[1]), "the effective kernel size", padding)
        if flag(return_indices, "return_indices"):
            raise ValueError(
                "return_indices must be False: GroupMaxPool2d returns the pooled maps only, got True"
            )
        super().__init__(
            _as_given(kernel_size, kernel),
            None if stride is None else _as_given(stride, steps),
            _as_given(padding, pad),
            _as_given(dilation, dil),
            False,
            flag(ceil_mode, "ceil_mode"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool over ``H, W`` only."""
        folded, (c, g) = _spatial(x, "GroupMaxPool2d")
        out = super().forward(folded)
        return out.view(out.shape[0], c, g, out.shape[-2], out.shape[-1])


class GroupAvgPool2d(nn.AvgPool2d):
    """Spatial average pooling of every orientation channel. Arguments as `torch.nn.AvgPool2d`."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        kernel = integer_pair(kernel_size, "kernel_size", minimum=1)
        steps = kernel if stride is None else integer_pair(stride, "stride", minimum=1)
        pad = integer_pair(padding, "padding", minimum=0)
        _check_padding(pad, (kernel[0] // 2, kernel[1] // 2), "kernel_size", padding)
        divisor = (
            None if divisor_override is None else integer(divisor_override, "divisor_override", minimum=1)
        )
        super().__init__(
            _as_given(kernel_size, kernel),
            None if stride is None else _as_given(stride, steps),
            _as_given(padding, pad),
            flag(ceil_mode, "ceil_mode"),
            flag(count_include_pad, "count_include_pad"),
            divisor,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool over ``H, W`` only."""
        folded, (c, g) = _spatial(x, "GroupAvgPool2d")
        out = super().forward(folded)
        return out.view(out.shape[0], c, g, out.shape[-2], out.shape[-1])


class GroupPool(nn.Module):
    """Pool over the group axis: ``(B, C, |G|, H, W) -> (B, C, H, W)``, invariant to the point group's
    permutation of that axis (a rotation-invariant head after global spatial pooling).

    Parameters
    ----------
    reduce
        ``"max"`` or ``"mean"``.
    """

    reduce: str
    """``"max"`` or ``"mean"``: how the group axis is pooled."""

    def __init__(self, reduce: str = "max") -> None:
        super().__init__()
        self.reduce = choice(reduce, "reduce", ("max", "mean"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, |G|, H, W) -> (B, C, H, W)``."""
        tensor(x, "x", nonempty=False)
        if x.dim() != 5:
            raise ValueError(f"GroupPool expects x of shape (B, C, |G|, H, W), got {tuple(x.shape)}")
        return x.amax(dim=2) if self.reduce == "max" else x.mean(dim=2)

    def extra_repr(self) -> str:
        return f"reduce={self.reduce!r}"


class GroupBatchNorm2d(nn.BatchNorm3d):
    """Batch norm whose statistics and affine parameters are shared over the group axis (one per
    channel), so it commutes with the point group: ``(B, C, |G|, H, W)``. Arguments as
    `torch.nn.BatchNorm3d` with ``num_features = C``."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        num_features = integer(num_features, "num_features", minimum=1)
        eps = real(eps, "eps", minimum=0.0)
        if momentum is not None:
            momentum = real(momentum, "momentum", minimum=0.0, maximum=1.0)
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be a floating-point torch.dtype or None, got {describe(dtype)}")
        if device is not None:
            try:
                torch.device(device)
            except (RuntimeError, TypeError):
                raise ValueError(
                    f"device must be a torch.device or a device name, got {describe(device)}"
                ) from None
        super().__init__(
            num_features,
            eps,
            momentum,
            flag(affine, "affine"),
            flag(track_running_stats, "track_running_stats"),
            device,
            dtype,
            bias=flag(bias, "bias"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``(B, C, |G|, H, W)`` over batch, group axis and space."""
        tensor(x, "x", nonempty=False)
        if x.dim() != 5:
            raise ValueError(f"GroupBatchNorm2d expects x of shape (B, C, |G|, H, W), got {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"GroupBatchNorm2d({self.num_features}) expects x with {self.num_features} channels at "
                f"dim 1, got shape {tuple(x.shape)}"
            )
        return super().forward(x)
