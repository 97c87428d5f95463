"""`OrbitAverage`: a model made exactly equivariant by averaging it over the orbit of its input.

``f_avg(x) = (1/|G|) sum_g g^-1 . f(g . x)``. For every ``h`` in the group, ``f_avg(h x) = h . f_avg(x)``,
whatever ``f`` computes and at every input size, because ``g -> g h`` only reorders the sum. The price is
``|G|`` forward passes per input. The last fix `eqlab.audit` offers, since it needs no change to the
network itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from eqlab.groups._image import d4_inverse, transform_image

__all__ = ["OrbitAverage"]

Action = Callable[[torch.Tensor, int], torch.Tensor]


class OrbitAverage(nn.Module):
    """``model`` averaged over the orbit of its input under the D4 elements ``elements``.

    Parameters
    ----------
    model
        Any model taking images ``(B, C, H, W)`` (a module, or any callable).
    elements
        The group's elements, numbered ``k + 4 j`` for ``r^k m^j`` (`eqlab.groups`); they must form a
        group.
    out_action
        How an element acts on the output, ``(output, element) -> output``; the inverse is applied.
    """

    def __init__(
        self, model: Callable[[torch.Tensor], torch.Tensor], elements: Sequence[int], out_action: Action
    ) -> None:
        super().__init__()
        self.model = model
        self.elements = tuple(int(g) for g in elements)
        self.out_action = out_action

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = None
        for g in self.elements:
            out = self.out_action(self.model(transform_image(x, g)), d4_inverse(g))
            total = out if total is None else total + out
        assert total is not None
        return total / len(self.elements)
