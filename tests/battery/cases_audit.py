"""Bad inputs for `eqlab.audit`: the model, the symmetry, the input size, the tolerance, the output
action, the example input and the data, each replaced by a bad value in an otherwise valid call.

`eqlab.AuditReport` has no cases: `eqlab.audit` returns it and users never build one (it is in
``RECORDS`` of ``test_battery``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

import eqlab
from eqlab.groups import cyclic
from tests.battery.cases_groups import NAN
from tests.battery.harness import Battery
from tests.battery.models import cnn

Values = list[tuple[str, Any]]

SIZE = 9
"""The valid input size: `cnn` runs at it (the audit says it is not equivariant, which is a valid
answer)."""


def _image(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.zeros(*shape, dtype=dtype)


def build() -> Battery:
    b = Battery()
    b.mutate(
        "eqlab.audit",
        eqlab.audit,
        lambda: {
            "model": cnn(),
            "symmetry": "rot90",
            "input_size": SIZE,
            "out_action": None,
            "example_input": None,
            "data": None,
            "tolerance": 1e-2,
        },
        {
            "model": [
                ("none", None),
                ("a function", cnn),
                ("a tensor", _image(1, 1, SIZE, SIZE)),
                ("a string", "cnn"),
                ("a module class", nn.Conv2d),
                ("a list of modules", [nn.Conv2d(1, 1, 3)]),
            ],
            "symmetry": [
                ("an angle", 45),
                ("an angle that is not a grid symmetry", "rot45"),
                ("empty", ""),
                ("none", None),
                ("a list", ["rot90"]),
                ("capitalised", "ROT90"),
                ("a bool", True),
                ("a group that is not a point group", cyclic(4)),
            ],
            "input_size": [
                ("zero", 0),
                ("negative", -3),
                ("a word", "a"),
                ("a string of digits", "9"),
                ("a float", 2.5),
                ("nan", NAN),
                ("one-element tuple", (3,)),
                ("zero height", (0, 5)),
                ("negative width", [9, -1]),
                ("a float height", (9.0, 9)),
                ("a triple", (9, 9, 9)),
                ("a bool", True),
                ("none", None),
            ],
            "tolerance": [
                ("negative", -1),
                ("nan", NAN),
                ("infinite", float("inf")),
                ("minus infinity", float("-inf")),
                ("too large for a float", 10**400),
                ("a string", "x"),
                ("a string of digits", "0.1"),
                ("none", None),
                ("a bool", True),
            ],
            "out_action": [
                ("unknown", "sideways"),
                ("empty", ""),
                ("capitalised", "Image"),
                ("a verdict", "exact"),
                ("an int", 3),
                ("a list", ["image"]),
            ],
            "example_input": [
                ("a list", [[1.0]]),
                ("a string", "x"),
                ("a numpy array", np.zeros((1, 1, SIZE, SIZE))),
                ("a 2-D tensor", _image(SIZE, SIZE)),
                ("another size", _image(1, 1, SIZE + 2, SIZE + 2)),
                ("other channels", _image(1, 3, SIZE, SIZE)),
            ],
            "data": [
                ("a string", "x"),
                ("an int", 3),
                ("an empty list", []),
                ("a dict", {"x": _image(2, 1, SIZE, SIZE)}),
                ("a list holding an empty list", [[]]),
                ("integer inputs", _image(2, 1, SIZE, SIZE, dtype=torch.int64)),
                ("an empty batch", _image(0, 1, SIZE, SIZE)),
                ("inputs with other channels", _image(2, 3, SIZE, SIZE)),
            ],
        },
    )
    b.add_valid("eqlab.audit", lambda: eqlab.audit(cnn(), "rot90", SIZE, data=torch.randn(4, 1, SIZE, SIZE)))
    b.add_valid("eqlab.audit", lambda: eqlab.audit(cnn(), "all", (SIZE, SIZE + 2), out_action="image"))
    return b
