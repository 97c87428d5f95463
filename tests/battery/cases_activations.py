"""Bad inputs for eqlab.activations: the Theorem 1 check and its parts, the changes of basis that fix a
failing pair, and the model scan."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from eqlab import activations
from eqlab.activations._basis_activation import BasisActivation
from eqlab.activations._check import bias_is_invariant, measure, worst_case
from eqlab.activations._classes import classify
from eqlab.activations._functions import as_activation, probe
from eqlab.groups import Representation
from eqlab.nn import RepLinear
from tests.battery.cases_groups import INF, NAN
from tests.battery.harness import Battery

Values = list[tuple[str, Any]]

SWAP = np.array([[[0.0, 1.0], [1.0, 0.0]]])

NOT_MATRICES: Values = [
    ("none", None),
    ("string", "C4"),
    ("1-D", [1.0, 0.0]),
    ("non-square", [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]),
    ("nan", [[[NAN, 0.0], [0.0, 1.0]]]),
    ("inf", [[[INF, 0.0], [0.0, 1.0]]]),
    ("empty stack", np.zeros((0, 2, 2))),
    ("ragged", [[[1.0, 0.0], [0.0]]]),
    ("4-D", np.zeros((1, 1, 2, 2))),
    ("complex", np.array([[[0, 1j], [1j, 0]]])),
    ("0 x 0 matrices", np.zeros((1, 0, 0))),
]

NOT_ACTIVATIONS: Values = [
    ("unknown name", "relu6"),
    ("empty name", ""),
    ("int", 5),
    ("none", None),
    ("module class", nn.ReLU),
    ("non-pointwise module", nn.Linear(3, 3)),
    ("returns a scalar", lambda x: x.sum()),
    ("returns numpy", lambda x: x.numpy()),
    ("list", ["relu"]),
]

NOT_SEEDS: Values = [("negative", -1), ("float", 1.5), ("string", "0"), ("bool", True)]


def _c3_plus_trivial() -> np.ndarray:
    c, s = math.cos(2 * math.pi / 3), math.sin(2 * math.pi / 3)
    return np.array([[[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]])


def _rotation_net() -> nn.Module:
    rot = Representation.rotation(4)
    return nn.Sequential(RepLinear(rot, rot), nn.Tanh())


def build() -> Battery:
    b = Battery()

    b.mutate(
        "eqlab.activations._functions.as_activation",
        as_activation,
        {"activation": "relu"},
        {"activation": NOT_ACTIVATIONS},
    )
    b.mutate(
        "eqlab.activations._functions.probe",
        probe,
        {"fn": torch.tanh, "name": "tanh"},
        {
            "fn": [
                ("none", None),
                ("int", 5),
                ("string", "relu"),
                ("module class", nn.ReLU),
                ("non-pointwise module", nn.Linear(3, 3)),
                ("returns a scalar", lambda x: x.sum()),
                ("returns numpy", lambda x: x.numpy()),
                ("returns another shape", lambda x: torch.zeros(3, dtype=x.dtype)),
            ],
            "name": [("int", 5), ("none", None)],
        },
    )
    b.mutate(
        "eqlab.activations._classes.classify",
        classify,
        lambda: {"matrices": SWAP},
        {"matrices": NOT_MATRICES},
    )
    b.mutate(
        "eqlab.activations.check",
        activations.check,
        lambda: {"matrices": SWAP, "activation": "relu"},
        {"matrices": NOT_MATRICES, "activation": NOT_ACTIVATIONS},
    )
    for name, fn in (("measure", measure), ("worst_case", worst_case)):
        b.mutate(
            f"eqlab.activations._check.{name}",
            fn,
            lambda: {"matrices": SWAP, "activation": "tanh", "seed": 0},
            {
                "matrices": NOT_MATRICES[:6],
                "activation": NOT_ACTIVATIONS[:5],
                "seed": [*NOT_SEEDS[1:], ("none", None)],  # torch takes negative seeds
            },
        )
    b.mutate(
        "eqlab.activations._check.bias_is_invariant",
        bias_is_invariant,
        lambda: {"matrices": SWAP, "bias": [1.0, 1.0], "tol": 1e-9},
        {
            "matrices": NOT_MATRICES[:5],
            "bias": [
                ("wrong length", [1.0, 1.0, 1.0]),
                ("2-D", [[1.0, 1.0]]),
                ("none", None),
                ("nan", [NAN, 1.0]),
                ("string", "11"),
                ("inf", [INF, INF]),
                ("empty", []),
            ],
            "tol": [("negative", -1.0), ("nan", NAN), ("string", "1e-9"), ("none", None), ("inf", INF)],
        },
    )
    b.mutate(
        "eqlab.activations.permutation_basis",
        activations.permutation_basis,
        lambda: {"matrices": _c3_plus_trivial(), "max_order": 50, "seed": 0},
        {
            "matrices": NOT_MATRICES[:6],
            "max_order": [
                ("zero", 0),
                ("negative", -1),
                ("bool", True),
                ("float", 50.0),
                ("string", "50"),
                ("none", None),
                ("nan", NAN),
            ],
            "seed": NOT_SEEDS,
        },
    )
    b.add_valid(
        "eqlab.activations.permutation_basis",
        lambda: activations.permutation_basis(_c3_plus_trivial(), np.int64(50), np.int64(1)),
    )
    b.mutate(
        "eqlab.activations.rescale_to_permutation",
        activations.rescale_to_permutation,
        lambda: {"matrices": np.array([[[0.0, 2.0], [0.5, 0.0]]])},
        {
            "matrices": [
                *NOT_MATRICES,
                ("not monomial", [[[1.0, 1.0], [0.0, 1.0]]]),
                ("an infinite group", [[[0.0, 2.0], [1.0, 0.0]]]),
            ]
        },
    )
    b.mutate(
        "eqlab.activations.scan",
        activations.scan,
        lambda: {"model": _rotation_net(), "input_rep": Representation.rotation(4)},
        {
            "model": [
                ("none", None),
                ("function", torch.tanh),
                ("string", "model"),
                ("list of modules", [nn.Tanh()]),
                ("module class", nn.Sequential),
            ],
            "input_rep": NOT_MATRICES[:6],
        },
    )

    b.mutate(
        "eqlab.activations._basis_activation.BasisActivation",
        BasisActivation,
        lambda: {"change_of_basis": np.diag([0.5, 2.0]), "activation": nn.ReLU()},
        {
            "change_of_basis": [
                ("singular", [[1.0, 0.0], [0.0, 0.0]]),
                ("non-square", [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
                ("1-D", [1.0, 2.0]),
                ("nan", [[NAN, 0.0], [0.0, 1.0]]),
                ("none", None),
                ("string", "T"),
                ("3-D", np.eye(2)[None]),
                ("empty", np.zeros((0, 0))),
            ],
            "activation": [
                ("none", None),
                ("string", "relu"),
                ("int", 5),
                ("module class", nn.ReLU),
                ("list", [nn.ReLU()]),
            ],
        },
    )
    b.mutate(
        "eqlab.activations._basis_activation.BasisActivation",
        lambda x: BasisActivation(np.diag([0.5, 2.0]), nn.ReLU())(x),
        lambda: {"x": torch.randn(3, 2)},
        {
            "x": [
                ("wrong size", torch.randn(3, 3)),
                ("numpy", np.zeros((3, 2))),
                ("integer dtype", torch.ones(3, 2, dtype=torch.long)),
            ]
        },
    )
    b.mutate(
        "eqlab.activations.named_representation",
        activations.named_representation,
        {"name": "D4:rot2d"},
        {
            "name": [
                ("none", None),
                ("int", 4),
                ("empty", ""),
                ("no representation", "C4"),
                ("unknown representation", "C4:spin"),
                ("unknown group", "Q8:regular"),
                ("n below 2", "C1:regular"),
                ("dihedral n below 3", "D2:rot2d"),
                ("regular too large", "S6:regular"),
                ("too many points", "S5000:perm"),
                ("sign of odd cyclic", "C3:sign"),
                ("angle not a number", "SO2:rot2d@xdeg"),
                ("bytes", b"C4:rot2d"),
            ]
        },
    )
    b.mutate(
        "eqlab.activations.PermutationBasis.activation",
        lambda f: activations.permutation_basis(_c3_plus_trivial()).activation(f),
        {"f": nn.ReLU()},
        {"f": [("none", None), ("string", "relu"), ("module class", nn.ReLU)]},
        names={"f": ("activation",)},
    )
    b.mutate(
        "eqlab.activations.Rescaling.activation",
        lambda f: activations.rescale_to_permutation(np.array([[[0.0, 2.0], [0.5, 0.0]]])).activation(f),
        {"f": torch.tanh},
        {"f": [("none", None), ("int", 5), ("list", [nn.Tanh()])]},
        names={"f": ("activation",)},
    )
    return b
