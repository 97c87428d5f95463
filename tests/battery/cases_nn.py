"""Bad inputs for eqlab.nn's own layers: `RepLinear` and its bases, the soft-equivariance blocks and the
sparsified paths (the layers eqlab.nn re-exports from sharing and gconv are in their own modules)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from eqlab import nn as enn
from eqlab.groups import Representation, cyclic
from eqlab.nn._primitives import BlockLinear, polyphase_subsample
from eqlab.nn._replinear import equivariant_basis, invariant_basis
from tests.battery.cases_groups import INF, NAN, NOT_FLAGS, not_counts
from tests.battery.harness import Battery

Values = list[tuple[str, Any]]

ROTATION = [[[0.0, -1.0], [1.0, 0.0]]]


def _reps() -> dict[str, Any]:
    return {
        "rep_in": Representation.rotation(4),
        "rep_out": Representation.from_permutations([[1, 2, 3, 0]]),
    }


NOT_REPS: Values = [
    ("none", None),
    ("matrices", np.array(ROTATION)),
    ("group", cyclic(4)),
    ("string", "C4"),
    ("action", cyclic(4).action()),
    ("tensor", torch.tensor(ROTATION)),
]
NOT_TOLERANCES: Values = [
    ("negative", -1.0),
    ("nan", NAN),
    ("inf", INF),
    ("string", "1e-9"),
    ("none", None),
    ("bool", True),
    ("not below one", 1.5),
]
NOT_FACTORS: Values = [
    ("zero", 0.0),
    ("negative", -0.5),
    ("nan", NAN),
    ("inf", INF),
    ("string", "0.5"),
    ("none", None),
    ("bool", True),
]


def _small_counts(value: int) -> Values:
    return [("zero", 0), ("negative", -1), ("bool", True), ("float", float(value)), ("string", str(value))]


def build() -> Battery:
    b = Battery()

    # --- RepLinear and its bases ------------------------------------------------------------------
    b.mutate(
        "eqlab.nn.RepLinear",
        enn.RepLinear,
        lambda: {**_reps(), "bias": True},
        {
            "rep_in": NOT_REPS,
            "rep_out": [
                ("different generator count", Representation(np.stack([np.eye(4), np.eye(4)]))),
                ("none", None),
                ("matrices", np.array(ROTATION)),
                ("group", cyclic(4)),
            ],
            "bias": NOT_FLAGS,
        },
    )
    b.mutate(
        "eqlab.nn.RepLinear",
        lambda x: enn.RepLinear(**_reps())(x),
        lambda: {"x": torch.randn(3, 2)},
        {
            "x": [
                ("wrong size", torch.randn(3, 4)),
                ("integer dtype", torch.ones(3, 2, dtype=torch.long)),
                ("numpy", np.zeros((3, 2), dtype=np.float32)),
                ("none", None),
            ]
        },
    )
    b.mutate(
        "eqlab.nn.equivariant_basis",
        equivariant_basis,
        lambda: {**_reps(), "tol": 1e-9},
        {
            "rep_in": NOT_REPS,
            "rep_out": [
                ("different generator count", Representation(np.stack([np.eye(4), np.eye(4)]))),
                ("none", None),
                ("matrices", np.array(ROTATION)),
            ],
            "tol": NOT_TOLERANCES,
        },
    )
    b.mutate(
        "eqlab.nn.invariant_basis",
        invariant_basis,
        lambda: {"rep": Representation.from_permutations([[1, 2, 0]]), "tol": 1e-9},
        {"rep": NOT_REPS, "tol": NOT_TOLERANCES},
    )

    # --- soft equivariance ------------------------------------------------------------------------
    b.mutate(
        "eqlab.nn.BlockLinear",
        BlockLinear,
        {"blocks": 3, "in_features": 4, "out_features": 5, "bias": True},
        {
            "blocks": not_counts(1, 3),
            "in_features": _small_counts(4),
            "out_features": [("zero", 0), ("negative", -1), ("float", 2.5), ("none", None)],
            "bias": NOT_FLAGS,
        },
    )
    b.add_valid("eqlab.nn.BlockLinear", lambda: BlockLinear(np.int64(3), np.int32(4), np.int64(5)))
    b.mutate(
        "eqlab.nn.BlockLinear",
        lambda x: BlockLinear(3, 4, 5)(x),
        lambda: {"x": torch.randn(2, 3, 4)},
        {
            "x": [
                ("wrong groups", torch.randn(2, 2, 4)),
                ("wrong features", torch.randn(2, 3, 5)),
                ("rank 1", torch.randn(4)),
                ("integer dtype", torch.ones(2, 3, 4, dtype=torch.long)),
            ]
        },
    )

    b.mutate(
        "eqlab.nn.SoftBlock",
        enn.SoftBlock,
        {"path": "ffc+conv", "c_in": 2, "c_out": 3, "size": 8, "stride": 2},
        {
            "path": [
                ("unknown", "cnn"),
                ("capitalised", "FC"),
                ("none", None),
                ("reversed", "conv+fc"),
                ("int", 3),
            ],
            "c_in": [*_small_counts(2), ("none", None)],
            "c_out": [("zero", 0), ("negative", -1), ("float", 1.5)],
            "size": [
                ("zero", 0),
                ("negative", -8),
                ("not a multiple of the stride", 7),
                ("float", 8.0),
                ("string", "8"),
                ("none", None),
            ],
            "stride": [
                ("three", 3),
                ("zero", 0),
                ("bool", True),
                ("float", 2.0),
                ("string", "2"),
                ("none", None),
            ],
        },
    )
    b.add_valid(
        "eqlab.nn.SoftBlock", lambda: enn.SoftBlock("s-fc+s-conv", np.int64(2), 3, np.int64(8), np.int64(2))
    )
    b.mutate(  # the p4 path (Section 6.3): the folded group axis needs channel counts divisible by 4
        "eqlab.nn.SoftBlock",
        enn.SoftBlock,
        {"path": "p4+conv+ffc", "c_in": 4, "c_out": 8, "size": 8, "stride": 2, "group_input": True},
        {
            "c_out": [("not a multiple of 4", 6), ("two", 2)],
            "c_in": [("not a multiple of 4 for group input", 6)],
            "group_input": [("string", "yes"), ("int", 1), ("none", None)],
        },
    )
    b.mutate(
        "eqlab.nn.SoftBlock",
        lambda x: enn.SoftBlock("ffc+conv", 2, 3, 8, 2)(x),
        lambda: {"x": torch.randn(1, 2, 8, 8)},
        {
            "x": [
                ("wrong size", torch.randn(1, 2, 6, 6)),
                ("wrong channels", torch.randn(1, 3, 8, 8)),
                ("rank 3", torch.randn(2, 8, 8)),
                ("integer dtype", torch.ones(1, 2, 8, 8, dtype=torch.long)),
            ]
        },
    )

    b.mutate(
        "eqlab.nn.soft_backbone",
        enn.soft_backbone,
        {
            "path": "conv",
            "alpha": 1,
            "size": 8,
            "in_channels": 1,
            "num_classes": 3,
            "widths": (1, 2),
            "strides": (1, 2),
        },
        {
            "path": [("unknown", "cnn"), ("none", None)],
            "alpha": [("zero", 0), ("negative", -1), ("bool", True), ("float", 1.5), ("string", "1")],
            "size": [
                ("zero", 0),
                ("negative", -8),
                ("not a multiple of the strides", 7),
                ("float", 8.0),
                ("string", "8"),
            ],
            "in_channels": [("zero", 0), ("negative", -1), ("float", 1.5)],
            "num_classes": [("zero", 0), ("negative", -1), ("float", 2.5)],
            "widths": [
                ("one too few", (1,)),
                ("zero", (0, 2)),
                ("negative", (1, -2)),
                ("float", (1.0, 2)),
                ("int", 2),
                ("string", "12"),
            ],
            "strides": [
                ("three", (1, 3)),
                ("zero", (1, 0)),
                ("one too many", (1, 2, 2)),
                ("int", 2),
                ("float", (1, 2.0)),
            ],
        },
    )

    b.mutate(
        "eqlab.nn.polyphase_subsample",
        polyphase_subsample,
        lambda: {"x": torch.randn(2, 3, 8, 8)},
        {
            "x": [
                ("odd height", torch.randn(2, 3, 7, 8)),
                ("odd width", torch.randn(2, 3, 8, 7)),
                ("rank 3", torch.randn(3, 8, 8)),
                ("rank 5", torch.randn(2, 3, 4, 8, 8)),
                ("numpy", np.zeros((2, 3, 8, 8))),
                ("none", None),
                ("list", [[[[1.0, 2.0], [3.0, 4.0]]]]),
                ("no pixels", torch.randn(2, 3, 0, 8)),
                ("complex", torch.randn(2, 3, 8, 8, dtype=torch.complex64)),
            ]
        },
    )

    # --- sparsified paths -------------------------------------------------------------------------
    b.mutate(
        "eqlab.nn.SparseConv",
        enn.SparseConv,
        {"c_in": 2, "c_out": 3, "stride": 2, "factor": 0.5},
        {
            "c_in": _small_counts(2),
            "c_out": [("zero", 0), ("negative", -1), ("float", 1.5)],
            "stride": [("three", 3), ("zero", 0), ("negative", -1), ("bool", True), ("float", 2.0)],
            "factor": NOT_FACTORS,
        },
    )
    b.mutate(
        "eqlab.nn.SparseConv",
        lambda x: enn.SparseConv(2, 3, 2)(x),
        lambda: {"x": torch.randn(1, 2, 8, 8)},
        {
            "x": [
                ("wrong channels", torch.randn(1, 3, 8, 8)),
                ("rank 3", torch.randn(2, 8, 8)),
                ("integer dtype", torch.ones(1, 2, 8, 8, dtype=torch.long)),
            ]
        },
    )
    b.mutate(
        "eqlab.nn.SparseDense",
        enn.SparseDense,
        {"c_in": 2, "c_out": 3, "size": 8, "stride": 2, "factor": 0.5},
        {
            "c_in": _small_counts(2),
            "c_out": [("zero", 0), ("negative", -1)],
            "size": [
                ("zero", 0),
                ("negative", -4),
                ("not a multiple of the stride", 7),
                ("float", 8.0),
                ("string", "8"),
            ],
            "stride": [("three", 3), ("zero", 0), ("bool", True)],
            "factor": NOT_FACTORS,
        },
    )
    b.add_valid("eqlab.nn.SparseDense", lambda: enn.SparseDense(np.int64(2), 3, np.int64(8), np.int64(2), 1))
    b.mutate(
        "eqlab.nn.SparseDense",
        lambda x: enn.SparseDense(2, 3, 8, 2)(x),
        lambda: {"x": torch.randn(1, 2, 8, 8)},
        {"x": [("wrong size", torch.randn(1, 2, 6, 6)), ("wrong channels", torch.randn(1, 3, 8, 8))]},
    )
    b.mutate(
        "eqlab.nn.OrbitAverage",
        enn.OrbitAverage,
        lambda: {"model": torch.nn.Conv2d(1, 1, 3), "symmetry": "rot90", "out_action": "image"},
        {
            "model": [("none", None), ("an int", 3), ("a string", "conv"), ("a tensor", torch.zeros(3))],
            "symmetry": [
                ("an angle", 45),
                ("not a grid symmetry", "rot45"),
                ("none", None),
                ("capitalised", "ROT90"),
            ],
            "out_action": [("a word", "sideways"), ("none", None), ("an int", 1), ("features", "features")],
        },
    )
    return b
