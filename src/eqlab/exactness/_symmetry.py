"""The grid symmetries the analyser checks, as sets of elements of the square's symmetry group D4.

Elements are numbered as in `eqlab.gconv.PointGroup` (``k + 4 j`` is ``r^k m^j``: first the mirror
``m = torch.flip(x, dims=(-1,))`` if ``j``, then ``k`` quarter turns ``torch.rot90(x, k, dims=(-2, -1))``),
so an element acts on group feature maps of a p4 (``k + 4 j < 4``) or p4m model too.

| name | elements | reflects axes | swaps height and width |
| --- | --- | --- | --- |
| ``p4`` (``rot90``) | e, r, r2, r3 | both | yes |
| ``p4m`` (``d4``) | all eight | both | yes |
| ``rot180`` | e, r2 | both | no |
| ``hflip`` | e, m | width | no |
| ``vflip`` | e, r2 m | height | no |

A layer commutes with an element when its sampling grid is mirror-symmetric along every axis the
element reflects, and, when it swaps the axes, its kernel, stride, padding and dilation are the same
along both.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from eqlab.gconv._pointgroup import point_group

__all__ = ["SYMMETRIES", "Symmetry", "symmetry"]


@dataclass(frozen=True)
class Symmetry:
    """A subgroup of D4 acting on images.

    Attributes
    ----------
    name
        ``"p4"``, ``"p4m"``, ``"rot180"``, ``"hflip"`` or ``"vflip"``.
    elements
        Its elements, identity first, in `PointGroup` numbering.
    axes
        The axes (0: height, 1: width) that some element reflects.
    transposes
        Whether some element swaps height and width.
    """

    name: str
    elements: tuple[int, ...]
    axes: tuple[int, ...]
    transposes: bool

    def act_on_image(self, x: torch.Tensor, element: int) -> torch.Tensor:
        """``T_g x`` on ``(..., H, W)``."""
        return point_group("p4m").act_on_image(x, element)

    def act_on_features(self, f: torch.Tensor, element: int, group: str) -> torch.Tensor:
        """``g . f`` on ``(..., |G|, H, W)`` feature maps of a ``group`` (p4 or p4m) model."""
        return point_group(group).act_on_features(f, element)

    def element_name(self, element: int) -> str:
        """``e``, ``r``, ``r2``, ``r3``, ``m``, ``rm``, ``r2m`` or ``r3m``."""
        return point_group("p4m").name_of(element)

    def fits(self, group: str) -> bool:
        """Whether every element lies in a p4 (``"p4"``) or p4m (``"p4m"``) model's group."""
        return all(e < point_group(group).order for e in self.elements)


SYMMETRIES: dict[str, Symmetry] = {
    "p4": Symmetry("p4", (0, 1, 2, 3), (0, 1), True),
    "p4m": Symmetry("p4m", tuple(range(8)), (0, 1), True),
    "rot180": Symmetry("rot180", (0, 2), (0, 1), False),
    "hflip": Symmetry("hflip", (0, 4), (1,), False),
    "vflip": Symmetry("vflip", (0, 6), (0,), False),
}
"""The symmetries by name."""

_ALIASES = {"rot90": "p4", "d4": "p4m"}


def symmetry(name: str) -> Symmetry:
    """The `Symmetry` called ``name`` (``"rot90"`` and ``"d4"`` are ``"p4"`` and ``"p4m"``)."""
    if not isinstance(name, str):
        raise TypeError(f"group must be one of {', '.join(SYMMETRIES)}, got {type(name).__name__}")
    key = _ALIASES.get(name, name)
    if key not in SYMMETRIES:
        raise ValueError(f"group must be one of {', '.join([*SYMMETRIES, *_ALIASES])}, got {name!r}")
    return SYMMETRIES[key]
