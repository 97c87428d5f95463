"""DigitMNIST and QuadrantMNIST (van der Ouderaa, Immer & van der Wilk 2023, Section 6.1): each digit in a
random quadrant of a zero canvas twice its side, the canvas resized to the network's input size.

With MNIST's 28 x 28 digits the canvas is 56 x 56, resized to 32 x 32 as in the paper; with the bundled
8 x 8 digits it is 16 x 16. Moving a digit to another quadrant is a circular shift of the canvas by half
its side (and, after resizing to an even size, of the resized canvas, up to the interpolation at the
canvas edges, which a digit with a blank margin does not reach). So the label ``digit`` is invariant to
those shifts and ``digit + 10 * quadrant`` is not.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from eqlab._arguments import describe, flag, integer, tensor
from eqlab.data._digits import paste_in_quadrants

__all__ = ["quadrant_canvases", "resize_square"]


def resize_square(images: torch.Tensor, size: int) -> torch.Tensor:
    """``(N, C, S, S)`` images resampled to ``(N, C, size, size)``: bilinear (half-pixel centres), with
    antialiasing when shrinking, as torchvision's ``Resize`` on tensors; the images themselves (not a
    copy) when ``size == S``."""
    tensor(images, "images", ndim=4, floating=True, nonempty=False)
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(f"images must be square (N, C, S, S), got {describe(images)}")
    size = integer(size, "size", minimum=1)
    if size == images.shape[-1]:
        return images
    shrink = size < images.shape[-1]
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)


def quadrant_canvases(
    images: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator,
    *,
    label_quadrant: bool = False,
    size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """DigitMNIST (``label_quadrant=False``) or QuadrantMNIST (``True``) from square digit images.

    Parameters
    ----------
    images
        ``(N, C, S, S)`` floating images (MNIST: ``S = 28``).
    labels
        ``(N,)`` integer digit labels 0..9.
    generator
        Draws the quadrants (one `torch.randint` of ``N`` values; the same generator state gives the
        same quadrants whatever ``label_quadrant``).
    label_quadrant
        Label ``digit + 10 * quadrant`` (40 classes; quadrants 0..3 top-left, top-right, bottom-left,
        bottom-right) instead of ``digit``.
    size
        The side of the returned canvases (the paper: 32); ``None`` keeps ``2 S``.

    Returns
    -------
    canvases, labels
        ``(N, C, size, size)`` images and ``(N,)`` int64 labels.
    """
    tensor(images, "images", ndim=4, floating=True, nonempty=False)
    label_quadrant = flag(label_quadrant, "label_quadrant")
    canvases, targets = paste_in_quadrants(images, labels, generator, label_quadrant)  # checks labels
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) > 9):
        raise ValueError(f"labels must be digits 0..9, got values {int(labels.min())}..{int(labels.max())}")
    if size is not None:
        canvases = resize_square(canvases, integer(size, "size", minimum=1))
    return canvases, targets.long()
