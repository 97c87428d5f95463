"""Bad inputs for eqlab.exactness: the exactness check of a model at an input size and the grid
arithmetic behind it."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from eqlab import exactness
from eqlab.exactness._grid import adaptive_offset, axis_offset, output_length
from tests.battery.cases_groups import NAN
from tests.battery.harness import Battery
from tests.battery.models import cnn

Values = list[tuple[str, Any]]

NOT_MODELS: Values = [
    ("none", None),
    ("string", "cnn"),
    ("builder function", cnn),
    ("module class", nn.Conv2d),
    ("list of modules", [nn.Conv2d(1, 1, 3)]),
]


def _sizes(value: int) -> Values:
    return [
        ("zero", 0),
        ("negative", -1),
        ("float", float(value)),
        ("string", str(value)),
        ("none", None),
        ("bool", True),
    ]


def build() -> Battery:
    b = Battery()
    b.mutate(
        "eqlab.exactness.check",
        exactness.check,
        lambda: {
            "model": cnn(),
            "input_size": 9,
            "confirm": True,
            "group": None,
            "example_input": None,
            "seed": 0,
            "out_action": None,
        },
        {
            "model": [*NOT_MODELS, ("no convolution", nn.Linear(4, 4))],
            "input_size": [
                ("string of digits", "33"),
                ("bool", True),
                ("zero", 0),
                ("negative", -5),
                ("float", 9.0),
                ("triple", (9, 9, 9)),
                ("none", None),
                ("one-element tuple", (9,)),
                ("nan", NAN),
            ],
            "confirm": [("string", "no"), ("none", None), ("int", 2)],
            "group": [("unknown", "p6"), ("int", 4), ("list", ["p4"]), ("capitalised", "P4")],
            "example_input": [
                ("wrong channels", torch.randn(1, 3, 9, 9)),
                ("numpy", np.zeros((1, 1, 9, 9))),
                ("rank 2", torch.randn(9, 9)),
                ("disagrees with input_size", torch.randn(1, 1, 11, 11)),
                ("string", "x"),
            ],
            "seed": [("float", 1.5), ("string", "0"), ("none", None), ("bool", True)],
            "out_action": [
                ("unknown", "equivariant"),
                ("capitalised", "Image"),
                ("a certificate", "exact"),
                ("int", 1),
                ("list", ["image"]),
                ("features without group layers", "features"),
            ],
        },
    )
    b.mutate(
        "eqlab.exactness.exact_sizes",
        exactness.exact_sizes,
        lambda: {"model": cnn(), "sizes": range(5, 12)},
        {
            "model": NOT_MODELS[:3],
            "sizes": [
                ("int", 9),
                ("none", None),
                ("zero", [0]),
                ("negative", [-3]),
                ("strings", ["9"]),
                ("floats", [9.0]),
                ("bools", [True]),
                ("string", "9"),
            ],
        },
    )
    b.mutate(
        "eqlab.exactness.nearest_exact_sizes",
        exactness.nearest_exact_sizes,
        lambda: {"model": cnn(), "size": 8, "radius": 4},
        {
            "model": NOT_MODELS[:2],
            "size": _sizes(8),
            "radius": [("negative", -1), ("zero", 0), ("float", 1.5), ("string", "4"), ("none", None)],
        },
    )
    geometry = {"n": 9, "kernel": 3, "stride": 2, "padding": (1, 1), "dilation": 1, "ceil_mode": False}
    bad_geometry: dict[str, Values] = {
        "n": [("negative", -1), ("zero", 0), ("float", 2.5), ("string", "9"), ("none", None), ("bool", True)],
        "kernel": [("zero", 0), ("negative", -1), ("float", 1.5), ("string", "3")],
        "stride": [("zero", 0), ("negative", -1), ("float", 1.5), ("string", "2")],
        "padding": [
            ("int", 1),
            ("negative", (-1, 1)),
            ("triple", (1, 1, 1)),
            ("floats", (0.5, 0.5)),
        ],
        "dilation": [("zero", 0), ("negative", -1)],
        "ceil_mode": [("string", "no"), ("none", None)],
    }
    b.mutate("eqlab.exactness._grid.output_length", output_length, geometry, bad_geometry)
    b.mutate("eqlab.exactness._grid.axis_offset", axis_offset, geometry, bad_geometry)
    b.mutate(
        "eqlab.exactness._grid.adaptive_offset",
        adaptive_offset,
        {"n": 9, "out": 3},
        {
            "n": [("zero", 0), ("negative", -1), ("float", 2.5), ("string", "9"), ("none", None)],
            "out": [("zero", 0), ("negative", -1), ("float", 2.5), ("string", "3"), ("none", None)],
        },
    )
    return b
