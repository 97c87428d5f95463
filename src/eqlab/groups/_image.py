"""How the eight symmetries of the square act on images: the one image action of eqlab.

**Convention (defined here, once).** The rotation ``r`` is ``torch.rot90(x, 1, dims=(-2, -1))``
(counter-clockwise as displayed with row 0 at the top), the reflection ``m`` is
``torch.flip(x, dims=(-1,))`` (left-right). Element ``k + 4 j`` of D4 is ``r^k m^j``: it acts on an image
by first ``m^j``, then ``r^k``. So ``0..3`` are the rotations, ``4`` is ``hflip``, ``6`` (``r^2 m``) is
``vflip``. Products follow ``m r = r^-1 m``.

Every function works on torch tensors and on numpy arrays of shape ``(..., H, W)``, and is exact.

>>> import numpy as np
>>> x = np.arange(6).reshape(2, 3)
>>> bool((transform_image(x, 6) == x[::-1]).all())   # r^2 m is the vertical flip
True
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

__all__ = ["D4_NAMES", "d4_inverse", "d4_multiply", "flip_width", "rotate90", "transform_image"]

D4_NAMES = ("e", "r", "r2", "r3", "m", "rm", "r2m", "r3m")
"""Readable names of the D4 elements ``0..7``."""

_Image = TypeVar("_Image", torch.Tensor, np.ndarray)


def rotate90(x: _Image, k: int = 1) -> _Image:
    """``r^k``: rotate the last two axes by ``k`` quarter turns, as ``torch.rot90(x, k, dims=(-2, -1))``."""
    if isinstance(x, np.ndarray):
        return np.rot90(x, k, axes=(-2, -1))
    return torch.rot90(x, k, dims=(-2, -1))  # a new tensor even for k = 0, never an alias


def flip_width(x: _Image) -> _Image:
    """``m``: mirror the last axis (left-right), as ``torch.flip(x, dims=(-1,))``."""
    if isinstance(x, np.ndarray):
        return x[..., ::-1]
    return torch.flip(x, dims=(-1,))


def transform_image(x: _Image, element: int) -> _Image:
    """``T_g x`` for the D4 element ``g = r^k m^j`` numbered ``k + 4 j``: first ``m^j``, then ``r^k``."""
    k, j = element % 4, element // 4
    return rotate90(flip_width(x) if j else x, k)


def d4_multiply(a: int, b: int) -> int:
    """The D4 product ``a * b`` (act by ``b``, then by ``a``), both numbered ``k + 4 j``."""
    ka, ja = a % 4, a // 4
    kb, jb = b % 4, b // 4
    # r^ka m^ja r^kb m^jb = r^(ka + (-1)^ja kb) m^(ja + jb)
    return (ka + (kb if ja == 0 else -kb)) % 4 + 4 * ((ja + jb) % 2)


def d4_inverse(a: int) -> int:
    """The D4 inverse of ``a``: rotations invert their angle, reflections are involutions."""
    return (-a) % 4 if a < 4 else a
