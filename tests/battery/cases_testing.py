"""Bad inputs for eqlab.testing: measuring and asserting equivariance."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from eqlab import testing
from tests.battery.cases_groups import INF, NAN
from tests.battery.harness import Battery

Values = list[tuple[str, Any]]

CYCLE = [[1, 2, 3, 0]]


def _valid() -> dict[str, Any]:
    return {
        "f": torch.tanh,
        "x": torch.randn(3, 4),
        "in_action": CYCLE,
        "out_action": CYCLE,
        "dtype": torch.float64,
    }


BAD: dict[str, Values] = {
    "f": [("none", None), ("int", 5), ("string", "tanh"), ("drops the permuted axis", lambda x: x.sum(-1))],
    "x": [
        ("none", None),
        ("numpy", np.zeros((3, 4))),
        ("list", [[0.0, 1.0, 2.0, 3.0]]),
        ("last axis too short", torch.randn(3, 2)),
        ("0-d", torch.tensor(1.0)),
    ],
    "in_action": [
        ("bad permutation", [[0, 0, 1, 2]]),
        ("more elements than out_action", [[1, 2, 3, 0], [0, 1, 2, 3]]),
        ("none", None),
        ("wrong length", [[1, 0]]),
        ("int", 3),
    ],
    "out_action": [("bad permutation", [[1, 1, 2, 3]]), ("none", None), ("wrong length", [[2, 0, 1]])],
    "dtype": [
        ("string", "float64"),
        ("integer dtype", torch.int64),
        ("numpy dtype", np.float64),
        ("none", None),
    ],
}


def build() -> Battery:
    b = Battery()
    b.mutate("eqlab.testing.equivariance_error", testing.equivariance_error, _valid, BAD)
    b.mutate(
        "eqlab.testing.assert_equivariant",
        testing.assert_equivariant,
        lambda: {**_valid(), "rtol": 1e-9},
        {
            **BAD,
            "rtol": [("negative", -1.0), ("nan", NAN), ("string", "1e-9"), ("inf", INF), ("bool", True)],
        },
    )
    b.mutate(
        "eqlab.testing.permutation_action",
        testing.permutation_action,
        {"perm": [1, 2, 0], "dim": -1},
        {
            "perm": [
                ("repeated index", [0, 0, 1]),
                ("several permutations", [[1, 2, 0], [0, 2, 1]]),
                ("none", None),
                ("string", "120"),
                ("index out of range", [1, 2, 3]),
                ("fractional", [0.5, 1.0, 2.0]),
                ("empty", []),
                ("int", 3),
            ],
            "dim": [("float", 1.5), ("string", "0"), ("none", None), ("bool", True)],
        },
    )
    b.mutate(
        "eqlab.testing.relative_error",
        testing.relative_error,
        lambda: {"actual": torch.randn(3, 4), "expected": torch.randn(3, 4)},
        {
            "actual": [("none", None), ("numpy", np.zeros((3, 4))), ("other shape", torch.randn(3, 5))],
            "expected": [("none", None), ("list", [[1.0]]), ("other shape", torch.randn(4, 3))],
            "batched": [("string", "yes"), ("none", None), ("int", 1)],
        },
        names={"actual": ("actual",), "expected": ("expected",)},
    )
    return b
