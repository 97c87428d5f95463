"""Primitives shared by the soft-equivariant blocks (`eqlab.nn._soft`) and their sparsified paths
(`eqlab.nn._sparse`): stride-2 polyphase subsampling, grouped linear maps, and the argument checks of a
block. Both modules import from here, and this module imports neither.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from eqlab._arguments import describe, flag, integer, tensor

__all__ = ["BlockLinear", "block_geometry", "block_size", "check_block_input", "polyphase_subsample"]


def polyphase_subsample(x: torch.Tensor) -> torch.Tensor:
    """Stride 2 by adaptive polyphase sampling: per sample, of the four components ``x[..., a::2, b::2]``
    the one with the largest maximum. ``(B, C, H, W) -> (B, C, H/2, W/2)``, ``H`` and ``W`` even."""
    tensor(x, "x", ndim=4, nonempty=False)
    if x.is_complex():
        raise TypeError(f"x must be a real tensor, got {describe(x)}")
    if x.shape[-1] % 2 or x.shape[-2] % 2 or 0 in x.shape[-2:]:
        raise ValueError(
            f"polyphase subsampling needs x with an even height and width of at least 2, "
            f"got {tuple(x.shape[-2:])}"
        )
    parts = torch.stack([x[..., a::2, b::2] for a in (0, 1) for b in (0, 1)], dim=1)  # (B, 4, C, H/2, W/2)
    best = parts.flatten(2).amax(dim=2).argmax(dim=1)  # (B,)
    return parts[torch.arange(x.shape[0]), best]


class BlockLinear(nn.Module):
    """``blocks`` independent linear maps, one per block: ``(..., blocks, in) -> (..., blocks, out)``,
    weight ``(blocks, out, in)``, bias ``(blocks, out)``. Its Kronecker factors are per block
    (`eqlab.bayes`)."""

    def __init__(self, blocks: int, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        blocks = integer(blocks, "blocks", minimum=1)
        in_features = integer(in_features, "in_features", minimum=1)
        out_features = integer(out_features, "out_features", minimum=1)
        self.blocks, self.in_features, self.out_features = blocks, in_features, out_features
        bias = flag(bias, "bias")
        bound = math.sqrt(6.0 / in_features)  # Kaiming-uniform for ReLU
        self.weight = nn.Parameter(torch.empty(blocks, out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(blocks, out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tensor(x, "x", min_ndim=2, floating=True, nonempty=False)
        if tuple(x.shape[-2:]) != (self.blocks, self.in_features):
            raise ValueError(
                f"BlockLinear expects x of shape (..., blocks, in_features) = "
                f"(..., {self.blocks}, {self.in_features}), got {tuple(x.shape)}"
            )
        out = torch.einsum("...gi,goi->...go", x, self.weight)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"blocks={self.blocks}, in={self.in_features}, out={self.out_features}"


def block_geometry(c_in: Any, c_out: Any, stride: Any) -> tuple[int, int, int]:
    """The channels and stride of a soft-equivariant block or path, checked: positive integers, the
    stride 1 or 2."""
    c_in = integer(c_in, "c_in", minimum=1)
    c_out = integer(c_out, "c_out", minimum=1)
    return c_in, c_out, integer(stride, "stride", minimum=1, maximum=2)


def block_size(size: Any, stride: int) -> int:
    """The input height and width of a block or path: a positive multiple of its stride."""
    size = integer(size, "size", minimum=1)
    if size % stride:
        raise ValueError(f"size must be a multiple of stride={stride}, got {size}")
    return size


def check_block_input(x: torch.Tensor, name: str, c_in: int, size: int | None) -> None:
    tensor(x, "x", ndim=4, floating=True, nonempty=False)
    if x.shape[1] != c_in or (size is not None and tuple(x.shape[-2:]) != (size, size)):
        spatial = f"{size}, {size}" if size is not None else "H, W"
        raise ValueError(f"{name} expects x of shape (B, {c_in}, {spatial}), got {tuple(x.shape)}")
