"""Bad inputs for `eqlab.export`: the model and the example input, each replaced by a bad value in an
otherwise valid call (a G-CNN exported on a valid image batch)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

import eqlab
from eqlab.nn import GroupPool, LiftingConv2d
from tests.battery.harness import Battery

SIZE = 7
"""The side of the valid example images."""


def _gcnn() -> nn.Module:
    return nn.Sequential(LiftingConv2d(1, 2, 3), GroupPool())


def _image(*shape: int, fill: float = 0.5, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.full(shape, fill, dtype=dtype)


def build() -> Battery:
    b = Battery()
    b.mutate(
        "eqlab.export",
        eqlab.export,
        lambda: {"model": _gcnn(), "example_input": _image(2, 1, SIZE, SIZE)},
        {
            "model": [
                ("none", None),
                ("a function", _gcnn),
                ("a module class", nn.Conv2d),
                ("a list of modules", [LiftingConv2d(1, 2, 3)]),
                ("a string", "gcnn"),
                ("a tensor", _image(1, 1, SIZE, SIZE)),
            ],
            "example_input": [
                ("none", None),
                ("a numpy array", np.zeros((2, 1, SIZE, SIZE))),
                ("a list of tensors", [_image(2, 1, SIZE, SIZE)]),
                ("an empty tuple", ()),
                ("a dict", {"x": _image(2, 1, SIZE, SIZE)}),
                ("a tuple holding an int", (_image(2, 1, SIZE, SIZE), 3)),
                ("an empty batch", _image(0, 1, SIZE, SIZE)),
                ("NaN entries", _image(2, 1, SIZE, SIZE, fill=float("nan"))),
                ("infinite entries", _image(2, 1, SIZE, SIZE, fill=float("inf"))),
                ("other channels", _image(2, 3, SIZE, SIZE)),
                ("a 2-D tensor", _image(SIZE, SIZE)),
                ("integer entries", _image(2, 1, SIZE, SIZE, dtype=torch.int64)),
            ],
        },
    )
    b.add_valid("eqlab.export", lambda: eqlab.export(_gcnn(), torch.randn(2, 1, SIZE, SIZE)))
    b.add_valid(
        "eqlab.export",
        lambda: eqlab.export(_gcnn().double(), torch.randn(1, 1, SIZE + 2, SIZE, dtype=torch.float64)),
    )
    return b
