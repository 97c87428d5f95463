"""scikit-learn's bundled 8 x 8 digits (no download), at any canvas size, and generated variants."""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from eqlab._arguments import choice, describe, flag, integer, tensor
from eqlab._arguments import generator as check_generator
from eqlab.data._transforms import rotate
from eqlab.groups._image import rotate90

__all__ = ["digits", "paste_in_quadrants", "rotated_digits"]


@lru_cache(maxsize=1)
def _raw_digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32) / 16.0
    return images, torch.tensor(bunch.target, dtype=torch.long)


def digits(size: int = 8, mode: str = "pad") -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 bundled 8 x 8 digits (no download) on a ``size`` x ``size`` canvas.

    Parameters
    ----------
    size
        The side of the images.
    mode
        ``"pad"`` centres the 8 x 8 digit on a zero canvas (``size >= 8``; for odd margins the extra row
        and column go to the bottom and right); ``"resize"`` resamples bilinearly to ``size``.

    Returns
    -------
    images, labels
        ``(1797, 1, size, size)`` float32 images in [0, 1] and ``(1797,)`` int64 labels 0..9.

    Examples
    --------
    >>> images, labels = digits(9)
    >>> tuple(images.shape), tuple(labels.shape)
    ((1797, 1, 9, 9), (1797,))
    """
    size = integer(size, "size", minimum=1)
    mode = choice(mode, "mode", ("pad", "resize"))
    images, labels = _raw_digits()
    images = images[:, None]
    if mode == "pad":
        if size < 8:
            raise ValueError(f"size must be >= 8 for mode='pad', got {size}; use mode='resize' to shrink")
        before = (size - 8) // 2
        after = size - 8 - before
        return F.pad(images, (before, after, before, after)), labels
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False), labels


def rotated_digits(
    images: torch.Tensor, generator: torch.Generator, angles: str = "quarter"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image rotated about its centre by a random angle, counter-clockwise as displayed.

    Parameters
    ----------
    images
        ``(N, ..., H, W)`` images (square and floating for ``angles="any"``).
    generator
        Draws the angles.
    angles
        ``"quarter"``: multiples of 90 degrees, exact (``torch.rot90(x, k, dims=(-2, -1))``, eqlab's
        rotation); ``"any"``: uniform in [0, 360), bilinear beyond the quarter turns (zeros outside).

    Returns
    -------
    images, degrees
        The rotated images, of the input's shape, and the ``(N,)`` float64 angles in degrees.
    """
    tensor(images, "images", min_ndim=3)
    check_generator(generator, "generator")
    angles = choice(angles, "angles", ("quarter", "any"))
    if angles == "any" and images.shape[-1] != images.shape[-2]:
        raise ValueError(f"images must be square for angles='any', got {describe(images)}")
    if angles == "any" and not images.is_floating_point():
        raise TypeError(f"images must be a floating-point tensor for angles='any', got {describe(images)}")
    n = images.shape[0]
    if angles == "quarter":
        quarters = torch.randint(0, 4, (n,), generator=generator)
        out = torch.stack([rotate90(img, int(k)) for img, k in zip(images, quarters, strict=True)])
        return out, quarters.double() * 90
    degrees = torch.rand(n, generator=generator, dtype=torch.float64) * 360
    return torch.stack([rotate(img, float(a)) for img, a in zip(images, degrees, strict=True)]), degrees


def paste_in_quadrants(
    images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, label_quadrant: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste each image into a random quadrant of a zero canvas twice its size.

    Parameters
    ----------
    images
        ``(N, C, S, S)`` square images.
    labels
        ``(N,)`` integer labels.
    generator
        Draws the quadrants.
    label_quadrant
        Make the label ``label + 10 * quadrant`` (quadrants 0..3: top-left, top-right, bottom-left,
        bottom-right), a task no rotation-invariant model can solve; else keep the labels.

    Returns
    -------
    canvases, labels
        ``(N, C, 2S, 2S)`` images and ``(N,)`` labels.
    """
    tensor(images, "images", ndim=4, nonempty=False)
    n, c, s, width = images.shape
    if s != width:
        raise ValueError(f"images must be square (N, C, S, S), got {describe(images)}")
    tensor(labels, "labels", ndim=1, nonempty=False)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor, got {describe(labels)}")
    if labels.shape[0] != n:
        raise ValueError(f"labels must have one entry per image ({n}), got {describe(labels)}")
    check_generator(generator, "generator")
    label_quadrant = flag(label_quadrant, "label_quadrant")
    quadrant = torch.randint(0, 4, (n,), generator=generator)
    canvas = images.new_zeros(n, c, 2 * s, 2 * s)
    for i in range(n):
        row, col = divmod(int(quadrant[i]), 2)
        canvas[i, :, row * s : (row + 1) * s, col * s : (col + 1) * s] = images[i]
    return canvas, labels + 10 * quadrant if label_quadrant else labels.clone()
