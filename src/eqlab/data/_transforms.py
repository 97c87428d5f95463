"""Rotation of images by any angle, ``(..., H, W)`` tensors (no torchvision), for data augmentation.

Whole quarter turns and flips are eqlab's one image action, `eqlab.groups._image` (the rotation r is
``torch.rot90(x, 1, dims=(-2, -1))``); `rotate` interpolates only the part of the angle beyond a multiple
of 90 degrees and does the multiple with `rotate90`, so 90-degree steps stay exact.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from eqlab._arguments import describe, real, tensor
from eqlab.groups._image import rotate90

__all__ = ["rotate", "rotate_batch"]


def _images(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """``x`` when it is a tensor of images ``(..., H, W)`` (at least two dimensions; may be empty)."""
    return tensor(x, name, min_ndim=2, nonempty=False)


def _rotate_small(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Bilinear rotation about the image centre, in the direction of `rotate90`; zeros outside."""
    if degrees == 0:
        return x
    theta = math.radians(degrees)
    cos, sin = math.cos(theta), math.sin(theta)
    shape = x.shape
    flat = x.reshape(-1, 1, shape[-2], shape[-1])
    # output pixel (u, v) in normalised coordinates samples the input at R(-theta) (u, v); the sign
    # makes a quarter turn match rotate90(x, 1).
    matrix = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=flat.dtype, device=flat.device)
    grid = F.affine_grid(matrix.expand(flat.shape[0], 2, 3), list(flat.shape), align_corners=False)
    return F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=False).reshape(
        shape
    )


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate ``(..., H, W)`` images about their centre by ``degrees`` (square images for non-multiples
    of 90). Multiples of 90 degrees are exact `rotate90` calls; the rest is bilinear."""
    _images(x)
    quarters, rest = divmod(real(degrees, "degrees"), 90.0)
    if rest and x.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"x must hold square images to rotate by {degrees} degrees, got {describe(x)} "
            f"({x.shape[-2]} x {x.shape[-1]})"
        )
    if rest and not x.is_floating_point():
        raise TypeError(
            f"x must be a floating-point tensor to rotate by {degrees} degrees, got {describe(x)}"
        )
    return rotate90(_rotate_small(x, rest), int(quarters) % 4)


def rotate_batch(x: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Rotate each image of ``x`` ``(B, C, H, W)`` (square) by its own angle ``degrees`` ``(B,)``.

    Same rule as `rotate`: the remainder below 90 degrees is bilinear (one ``grid_sample`` for the
    batch), whole quarter turns are exact `rotate90`, so ``rotate_batch(x, a)[i] == rotate(x[i], a[i])``.
    """
    tensor(x, "x", ndim=4, floating=True, nonempty=False)
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"x must hold square images (B, C, H, H), got {describe(x)}")
    tensor(degrees, "degrees", ndim=1, nonempty=False)
    if degrees.dtype == torch.bool or degrees.is_complex():
        raise TypeError(f"degrees must be a real tensor of angles, got {describe(degrees)}")
    if degrees.shape != (x.shape[0],):
        raise ValueError(
            f"degrees must have shape ({x.shape[0]},), one angle per image of x, got {describe(degrees)}"
        )
    if degrees.is_floating_point() and not bool(torch.isfinite(degrees).all()):
        raise ValueError(f"degrees must hold only finite angles, got {describe(degrees)} with NaN or Inf")
    angles = degrees.to(torch.float64)
    quarters = torch.div(angles, 90.0, rounding_mode="floor")
    rest = torch.deg2rad(angles - 90.0 * quarters)
    cos, sin, zero = rest.cos(), rest.sin(), torch.zeros_like(rest)
    matrix = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1).to(x.dtype)
    grid = F.affine_grid(matrix, list(x.shape), align_corners=False)
    turned = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    turned = torch.where((rest == 0)[:, None, None, None], x, turned)  # keep exact inputs exact
    out = torch.empty_like(x)
    for k in range(4):
        chosen = (quarters.remainder(4) == k).nonzero().flatten()
        if chosen.numel():
            out[chosen] = rotate90(turned[chosen], k)
    return out
