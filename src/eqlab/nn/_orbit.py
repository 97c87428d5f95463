"""`OrbitAverage`: any image model made exactly equivariant by averaging it over the orbit of its input.

``f_avg(x) = (1/|G|) sum_g g^-1 . f(g . x)``. For every ``h`` in the group, ``f_avg(h x) = h . f_avg(x)``,
whatever ``f`` computes and at every input size, because ``g -> g h`` only reorders the sum. The price is
``|G|`` forward passes per input. `eqlab.audit` offers it as the fix that needs no change to the
network itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from eqlab._arguments import describe
from eqlab.groups._image import d4_inverse, transform_image
from eqlab.groups._point import PointGroup, point_group

__all__ = ["OrbitAverage"]

Action = Callable[[torch.Tensor, int], torch.Tensor]


def _invariant(output: torch.Tensor, element: int) -> torch.Tensor:
    return output


def _image(output: torch.Tensor, element: int) -> torch.Tensor:
    return transform_image(output, element)


class OrbitAverage(nn.Module):
    """``model`` averaged over the orbit of its input under a point group: ``(B, C, H, W) -> output``.

    Parameters
    ----------
    model
        Any model taking images ``(B, C, H, W)`` (a module, or any callable).
    symmetry
        A `eqlab.groups.PointGroup` or its name: ``"rot90"``, ``"d4"``, ``"rot180"``, ``"hflip"``,
        ``"vflip"``.
    out_action
        How an element acts on the output: ``"invariant"`` (logits: not at all), ``"image"`` (an image
        ``(B, C, H, W)``, transformed like the input) or a callable ``(output, element) -> output`` with D4
        elements numbered ``k + 4 j`` for ``r^k m^j`` (`eqlab.groups`). The average applies its inverse.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.Flatten(), nn.LazyLinear(3)).double()
    >>> averaged = OrbitAverage(net, "rot90")
    >>> x = torch.randn(4, 1, 10, 10, dtype=torch.float64)
    >>> torch.allclose(averaged(torch.rot90(x, 1, (-2, -1))), averaged(x), rtol=1e-12, atol=1e-12)
    True
    """

    def __init__(
        self, model: Any, symmetry: str | PointGroup, out_action: str | Action = "invariant"
    ) -> None:
        super().__init__()
        if not callable(model):
            raise TypeError(f"model must be a module or a callable, got {describe(model)}")
        self.model = model
        try:
            group = point_group(symmetry)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"symmetry must be 'rot90', 'd4', 'rot180', 'hflip', 'vflip' or a PointGroup, got "
                f"{describe(symmetry)}"
            ) from None
        self.elements = tuple(int(g) for g in group.d4)
        if callable(out_action):
            self.out_action: Action = out_action
        elif out_action == "invariant":
            self.out_action = _invariant
        elif out_action == "image":
            self.out_action = _image
        else:
            raise ValueError(
                f"out_action must be 'invariant', 'image' or a callable (output, element) -> output, "
                f"got {describe(out_action)}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = None
        for g in self.elements:
            out = self.out_action(self.model(transform_image(x, g)), d4_inverse(g))
            total = out if total is None else total + out
        assert total is not None
        return total / len(self.elements)
