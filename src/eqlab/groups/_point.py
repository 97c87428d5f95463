"""The point groups of the image plane (p4, p4m and the flips) as eqlab groups.

A `PointGroup` is a subgroup of D4, the eight symmetries of the square. It is a `Group` like any other:
its one index set is its own elements, which it permutes by left multiplication ``h -> g h``. That index
set is the *group axis* of a group feature map, so the action of `Group` and `act` on that axis is the
action the group convolutions commute with. It also carries the action on images and on feature maps.

**Conventions.** The image action and the D4 numbering (``k + 4 j`` is ``r^k m^j``) are defined once in
`eqlab.groups._image`. Element ``i`` of a point group is D4 element ``group.d4[i]``, identity first. A
group feature map ``f`` has shape ``(..., |G|, H, W)`` and an element ``u`` acts on it by transforming
every spatial map and moving orientation ``h`` to ``u h``: ``(u . f)[..., u h, :, :] = T_u f[..., h, :, :]``.

>>> p4m = point_group("p4m")
>>> p4m.order, p4m.name_of(p4m.multiply(1, 4))   # r * m
(8, 'rm')
>>> import torch
>>> x = torch.arange(9.0).reshape(1, 1, 3, 3)
>>> torch.equal(p4m.act_on_image(x, 1), torch.rot90(x, 1, dims=(-2, -1)))
True
>>> point_group("vflip").on_grid(2, 3).generators[0].tolist()   # rows swap
[[3, 4, 5, 0, 1, 2]]
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

import numpy as np
import torch

from eqlab._arguments import describe, integer, tensor
from eqlab._options import Option
from eqlab.groups._catalogue import grid_permutation
from eqlab.groups._group import Group
from eqlab.groups._image import D4_NAMES, d4_inverse, d4_multiply, transform_image

__all__ = ["PointGroup", "PointGroupName", "point_group"]

_Image = TypeVar("_Image", torch.Tensor, np.ndarray)


class PointGroupName(Option):
    """The point groups of the image plane, by name."""

    P4 = "p4"
    """C4: the four rotations by multiples of 90 degrees (also spelled ``"rot90"``)."""
    P4M = "p4m"
    """D4: the rotations and the reflections (also spelled ``"d4"``)."""
    ROT180 = "rot180"
    """C2: the identity and the rotation by 180 degrees."""
    HFLIP = "hflip"
    """The identity and the left-right flip ``torch.flip(x, dims=(-1,))``."""
    VFLIP = "vflip"
    """The identity and the up-down flip ``torch.flip(x, dims=(-2,))``."""


_ALIASES = {"rot90": "p4", "d4": "p4m", "c4": "p4"}

# D4 elements of each group (identity first) and the generators among them.
_ELEMENTS = {"p4": (0, 1, 2, 3), "p4m": tuple(range(8)), "rot180": (0, 2), "hflip": (0, 4), "vflip": (0, 6)}
_GENERATORS = {"p4": (1,), "p4m": (1, 4), "rot180": (2,), "hflip": (4,), "vflip": (6,)}


class PointGroup(Group):
    """A group of symmetries of the square acting on images, on group feature maps, and (as a `Group`) on
    its own elements, the group axis, by left multiplication.

    Build one with `point_group`; instances are shared, so ``point_group("p4") is point_group("p4")``.

    Parameters
    ----------
    name
        ``"p4"``, ``"p4m"``, ``"rot180"``, ``"hflip"`` or ``"vflip"``.
    """

    d4: tuple[int, ...]
    """The D4 number (``k + 4 j`` for ``r^k m^j``) of each element, identity first."""
    table: torch.Tensor
    """``(order, order)`` int64: ``table[a, b]`` is the index of ``a * b``."""
    inverses: torch.Tensor
    """``(order,)`` int64: the index of each element's inverse."""
    generator_elements: tuple[int, ...]
    """The index of each generator (``generators[0][j]`` is left multiplication by element
    ``generator_elements[j]``)."""

    def __init__(self, name: str) -> None:
        name = str(PointGroupName.parse(name, "name"))
        self.d4 = _ELEMENTS[name]
        index = {d: i for i, d in enumerate(self.d4)}
        gens = np.array(
            [[index[d4_multiply(g, h)] for h in self.d4] for g in _GENERATORS[name]], dtype=np.int64
        )
        super().__init__(gens, name=name)
        n = len(self.d4)
        self.table = torch.tensor(
            [[index[d4_multiply(a, b)] for b in self.d4] for a in self.d4], dtype=torch.long
        )
        self.inverses = torch.tensor([index[d4_inverse(a)] for a in self.d4], dtype=torch.long)
        self._order = n
        self.generator_elements = tuple(index[g] for g in _GENERATORS[name])

    @property
    def order(self) -> int:
        """The number of elements (no Schreier-Sims needed: it is the size of the group axis)."""
        return self._order

    def _element(self, a: Any, name: str = "a") -> int:
        return integer(a, name, minimum=0, maximum=self._order - 1)

    def multiply(self, a: int, b: int) -> int:
        """Index of the product ``a * b`` (act by ``b``, then by ``a``)."""
        return int(self.table[self._element(a, "a"), self._element(b, "b")])

    def inverse(self, a: int) -> int:
        """Index of ``a^-1``."""
        return int(self.inverses[self._element(a)])

    def name_of(self, a: int) -> str:
        """Readable name of element ``a``: ``e``, ``r``, ``r2``, ``r3``, ``m``, ``rm``, ``r2m``, ``r3m``."""
        return D4_NAMES[self.d4[self._element(a)]]

    def act_on_image(self, x: torch.Tensor, a: int) -> torch.Tensor:
        """``T_a x`` for images ``x`` of shape ``(..., H, W)``; exact. A quarter turn of a non-square
        image swaps ``H`` and ``W``."""
        a = self._element(a)
        tensor(x, "x", min_ndim=2, nonempty=False)
        return transform_image(x, self.d4[a])

    def act_on_features(self, f: torch.Tensor, a: int) -> torch.Tensor:
        """``a . f`` on group feature maps ``(..., |G|, H, W)``: ``out[..., a h] = T_a f[..., h]``."""
        a = self._element(a)
        tensor(f, "f", nonempty=False)
        if f.dim() < 3 or f.shape[-3] != self._order:
            raise ValueError(
                f"f must be {self.name} feature maps with a group axis of size {self._order} at dim -3, "
                f"got shape {tuple(f.shape)}"
            )
        moved = transform_image(f, self.d4[a])
        # position a*h receives h: gather with the inverse map, position p takes h = a^-1 p
        source = self.table[self.inverses[a]].to(f.device)
        return moved.index_select(-3, source)

    def on_grid(self, height: int, width: int) -> Group:
        """The same group acting on the ``height * width`` pixels of an image (row-major, as
        ``x.flatten(-2)``). Groups with a quarter turn need a square grid."""
        height = integer(height, "height", minimum=1)
        width = integer(width, "width", minimum=1)
        if height != width and any(g % 2 for g in _GENERATORS[self.name]):
            raise ValueError(
                f"{self.name} rotates by 90 degrees, which maps a grid onto itself only when it is square, "
                f"got height={height}, width={width}"
            )
        gens = [grid_permutation(_ImageMap(g), height, width) for g in _GENERATORS[self.name]]
        return Group(np.stack(gens), name=f"{self.name} on {height}x{width} grid")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PointGroup) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("PointGroup", self.name))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return point_group, (self.name,)  # copies and unpickled models share the one instance

    def __repr__(self) -> str:
        return f"point_group({self.name!r})"


class _ImageMap:
    """``x -> T_g x`` for one D4 element ``g``, on numpy grids."""

    def __init__(self, element: int) -> None:
        self.element = element

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return transform_image(x, self.element)


def point_group(group: str | PointGroup) -> PointGroup:
    """The shared `PointGroup` named ``group``.

    Parameters
    ----------
    group
        ``"p4"`` (or ``"rot90"``), ``"p4m"`` (or ``"d4"``), ``"rot180"``, ``"hflip"``, ``"vflip"``, or a
        `PointGroup` (returned as it is).

    Examples
    --------
    >>> point_group("rot90") is point_group("p4")
    True
    """
    if isinstance(group, PointGroup):
        return group
    if isinstance(group, str) and not isinstance(group, PointGroupName):
        group = _ALIASES.get(group, group)
    if not isinstance(group, str):
        raise TypeError(
            f"group must be a point group name ({', '.join(map(repr, PointGroupName.values()))}) "
            f"or a PointGroup, got {describe(group)}"
        )
    return _point_group(str(PointGroupName.parse(group, "group")))


@cache
def _point_group(name: str) -> PointGroup:
    return PointGroup(name)
