"""Checks shared by the export tests."""

from __future__ import annotations

import torch
from torch import nn

from eqlab._export._verify import relative_difference


def eqlab_layers(model: nn.Module) -> list[str]:
    """The eqlab modules left in ``model``, other than the plain modules of `eqlab._export` and the model
    containers of `eqlab.studies` (whose forward only composes their children)."""
    return [
        f"{type(m).__module__}.{type(m).__qualname__}"
        for m in model.modules()
        if type(m).__module__.startswith("eqlab.")
        and not type(m).__module__.startswith(("eqlab._export.", "eqlab.studies."))
    ]


def difference(exported: nn.Module, model: nn.Module, *inputs: torch.Tensor) -> float:
    """The relative difference of the two models' outputs on ``inputs``, both in eval mode."""
    model.eval()
    with torch.no_grad():
        return relative_difference(exported(*inputs), model(*inputs))
