"""Pooling and normalisation for group feature maps ``(B, C, |G|, H, W)``."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["GroupAvgPool2d", "GroupBatchNorm2d", "GroupMaxPool2d", "GroupPool"]


def _spatial(x: torch.Tensor, name: str) -> tuple[torch.Tensor, tuple[int, int]]:
    if x.dim() != 5:
        raise ValueError(f"{name} expects group feature maps (B, C, |G|, H, W), got {tuple(x.shape)}")
    return x.flatten(1, 2), (x.shape[1], x.shape[2])


class GroupMaxPool2d(nn.MaxPool2d):
    """Spatial max pooling of every orientation channel: ``(B, C, |G|, H, W) -> (B, C, |G|, H', W')``.
    Arguments as `torch.nn.MaxPool2d`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool over ``H, W`` only."""
        folded, (c, g) = _spatial(x, "GroupMaxPool2d")
        out = super().forward(folded)
        return out.view(out.shape[0], c, g, out.shape[-2], out.shape[-1])


class GroupAvgPool2d(nn.AvgPool2d):
    """Spatial average pooling of every orientation channel. Arguments as `torch.nn.AvgPool2d`."""

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

    def __init__(self, reduce: str = "max") -> None:
        super().__init__()
        if reduce not in ("max", "mean"):
            raise ValueError(f"reduce must be 'max' or 'mean', got {reduce!r}")
        self.reduce = reduce

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, |G|, H, W) -> (B, C, H, W)``."""
        if x.dim() != 5:
            raise ValueError(f"GroupPool expects (B, C, |G|, H, W), got {tuple(x.shape)}")
        return x.amax(dim=2) if self.reduce == "max" else x.mean(dim=2)

    def extra_repr(self) -> str:
        return f"reduce={self.reduce!r}"


class GroupBatchNorm2d(nn.BatchNorm3d):
    """Batch norm whose statistics and affine parameters are shared over the group axis (one per
    channel), so it commutes with the point group: ``(B, C, |G|, H, W)``. Arguments as
    `torch.nn.BatchNorm3d` with ``num_features = C``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``(B, C, |G|, H, W)`` over batch, group axis and space."""
        if x.dim() != 5:
            raise ValueError(f"GroupBatchNorm2d expects (B, C, |G|, H, W), got {tuple(x.shape)}")
        return super().forward(x)
