"""The grid symmetries the analyser checks, as sets of elements of the square's symmetry group D4.

Each is the set of D4 elements of an `eqlab.groups.PointGroup`, numbered as in `eqlab.groups._image`
(``k + 4 j`` is ``r^k m^j``: first the mirror if ``j``, then ``k`` quarter turns), so an element acts on
the group feature maps of any model whose point group contains it.

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

from eqlab.groups._image import D4_NAMES, transform_image
from eqlab.groups._point import PointGroup, point_group

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
        return transform_image(x, element)

    def act_on_features(self, f: torch.Tensor, element: int, group: str | PointGroup) -> torch.Tensor:
        """``g . f`` on ``(..., |G|, H, W)`` feature maps of a model whose layers have point group
        ``group``, for the D4 element ``element``."""
        model_group = point_group(group)
        return model_group.act_on_features(f, model_group.d4.index(element))

    def element_name(self, element: int) -> str:
        """``e``, ``r``, ``r2``, ``r3``, ``m``, ``rm``, ``r2m`` or ``r3m``."""
        return D4_NAMES[element]

    def fits(self, group: str | PointGroup) -> bool:
        """Whether every element lies in the point group ``group`` of a model's layers."""
        return set(self.elements) <= set(point_group(group).d4)


SYMMETRIES: dict[str, Symmetry] = {
    "p4": Symmetry("p4", point_group("p4").d4, (0, 1), True),
    "p4m": Symmetry("p4m", point_group("p4m").d4, (0, 1), True),
    "rot180": Symmetry("rot180", point_group("rot180").d4, (0, 1), False),
    "hflip": Symmetry("hflip", point_group("hflip").d4, (1,), False),
    "vflip": Symmetry("vflip", point_group("vflip").d4, (0,), False),
}
"""The symmetries by name."""

_ALIASES = {"rot90": "p4", "d4": "p4m", "c4": "p4"}


def symmetry(name: str | PointGroup) -> Symmetry:
    """The `Symmetry` called ``name`` (``"rot90"`` and ``"d4"`` are ``"p4"`` and ``"p4m"``), or that of a
    `PointGroup`."""
    if isinstance(name, PointGroup):
        name = name.name
    if not isinstance(name, str):
        raise TypeError(f"group must be one of {', '.join(SYMMETRIES)}, got {type(name).__name__}")
    key = _ALIASES.get(name, name)
    if key not in SYMMETRIES:
        raise ValueError(f"group must be one of {', '.join([*SYMMETRIES, *_ALIASES])}, got {name!r}")
    return SYMMETRIES[key]
