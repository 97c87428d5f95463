"""The point groups of p4 and p4m, and how their elements act on images and group feature maps.

**Conventions (defined here, once).** The rotation ``r`` is ``torch.rot90(x, 1, dims=(-2, -1))``, the
reflection ``m`` is ``torch.flip(x, dims=(-1,))``. The group axis lists ``r^0..r^3`` and then
``r^0 m..r^3 m``: element ``k + 4 j`` is ``r^k m^j``, which acts on an image by first ``m^j`` and then
``r^k``. Products follow ``m r = r^-1 m``.

A group feature map ``f`` has shape ``(B, C, |G|, H, W)``; an element ``u`` acts on it by transforming
every spatial map and moving orientation channel ``h`` to ``u h``:
``(u . f)[:, :, u h] = T_u f[:, :, h]``. Lifting and group convolutions built on `transform_filters`
commute with this action (see `eqlab.gconv._conv`).

>>> g = PointGroup("p4m")
>>> g.order, g.name_of(g.multiply(1, 4))   # r * m
(8, 'rm')
>>> import torch
>>> x = torch.arange(9.0).reshape(1, 1, 3, 3)
>>> torch.equal(g.act_on_image(x, 1), torch.rot90(x, 1, dims=(-2, -1)))
True
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch

from eqlab._arguments import choice, integer, tensor

__all__ = ["GROUPS", "PointGroup", "point_group"]

GROUPS = ("p4", "p4m")


class PointGroup:
    """C4 (``"p4"``) or D4 (``"p4m"``) as a small table: multiplication, inverses, image transforms.

    Parameters
    ----------
    group
        ``"p4"`` (order 4) or ``"p4m"`` (order 8).
    """

    def __init__(self, group: str) -> None:
        self.group = choice(group, "group", GROUPS)
        self.order = 4 if group == "p4" else 8
        self.table = torch.tensor(
            [[self._multiply(a, b) for b in range(self.order)] for a in range(self.order)], dtype=torch.long
        )
        self.inverses = torch.tensor(
            [int((self.table[a] == 0).nonzero()[0, 0]) for a in range(self.order)], dtype=torch.long
        )

    @staticmethod
    def _multiply(a: int, b: int) -> int:
        ka, ja = a % 4, a // 4
        kb, jb = b % 4, b // 4
        # r^ka m^ja r^kb m^jb = r^(ka + (-1)^ja kb) m^(ja + jb)
        return (ka + (kb if ja == 0 else -kb)) % 4 + 4 * ((ja + jb) % 2)

    def _element(self, a: Any, name: str = "a") -> int:
        """``a`` checked to be an element index ``0..order-1`` of this group."""
        return integer(a, name, minimum=0, maximum=self.order - 1)

    def multiply(self, a: int, b: int) -> int:
        """Index of the product ``a * b``."""
        return int(self.table[self._element(a, "a"), self._element(b, "b")])

    def inverse(self, a: int) -> int:
        """Index of ``a^-1``."""
        return int(self.inverses[self._element(a)])

    def name_of(self, a: int) -> str:
        """Readable name: ``e``, ``r``, ``r2``, ``r3``, ``m``, ``rm``, ``r2m``, ``r3m``."""
        a = self._element(a)
        k, j = a % 4, a // 4
        rot = "" if k == 0 else ("r" if k == 1 else f"r{k}")
        return (rot + ("m" if j else "")) or "e"

    def act_on_image(self, x: torch.Tensor, a: int) -> torch.Tensor:
        """``T_a x`` for ``(..., H, W)`` tensors: flip (if ``a`` has ``m``) then rotate (exact)."""
        a = self._element(a)
        tensor(x, "x", min_ndim=2, nonempty=False)
        k, j = a % 4, a // 4
        if j:
            x = torch.flip(x, dims=(-1,))
        return torch.rot90(x, k, dims=(-2, -1)) if k else x

    def act_on_features(self, f: torch.Tensor, a: int) -> torch.Tensor:
        """``a . f`` on ``(..., |G|, H, W)``: ``out[..., a h, :, :] = T_a f[..., h, :, :]``."""
        a = self._element(a)
        tensor(f, "f", nonempty=False)
        if f.dim() < 3 or f.shape[-3] != self.order:
            raise ValueError(
                f"f must be {self.group} feature maps with a group axis of size {self.order} at dim -3, "
                f"got shape {tuple(f.shape)}"
            )
        moved = self.act_on_image(f, a)
        # position a*h receives h: gather with the inverse map, position p takes h = a^-1 p
        source = self.table[self.inverse(a)].to(f.device)
        return moved.index_select(-3, source)

    def __repr__(self) -> str:
        return f"PointGroup({self.group!r})"


def point_group(group: str) -> PointGroup:
    """The shared, immutable `PointGroup` for ``"p4"`` or ``"p4m"``."""
    return _point_group(choice(group, "group", GROUPS))


@cache
def _point_group(group: str) -> PointGroup:
    return PointGroup(group)
