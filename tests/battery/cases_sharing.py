"""Bad inputs for eqlab.sharing: parameter-sharing layers and patterns, and the size-generic S_n layers.

The layers are re-exported by ``eqlab.nn``, so their entry points are ``eqlab.nn.*``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from eqlab import sharing
from eqlab.groups import Representation, alternating, cyclic, direct_product, symmetric
from eqlab.nn import EquivariantLinear, EquivariantMLP, GraphLinear, OrbitPool, SetLinear, SymmetricLinear
from eqlab.sharing import Design
from eqlab.sharing._ign import equality_pattern, set_partitions
from eqlab.sharing._pattern import dense_pattern, pair_orbit_labels, sparse_pattern
from tests.battery.cases_groups import NAN, NOT_FLAGS, not_counts
from tests.battery.harness import Battery

Values = list[tuple[str, Any]]


def _bad_stacks(n: int) -> Values:
    """Bad values where a ``(k, n)`` array of generators is expected."""
    return [
        ("repeated index", np.array([[0, 0, *range(1, n - 1)]])),
        ("index out of range", np.array([list(range(1, n + 1))])),
        ("negative index", np.array([[-1, *range(n - 1)]])),
        ("fractional", np.array([[0.5, *map(float, range(1, n))]])),
        ("none", None),
        ("string", "".join(map(str, range(n)))),
        ("3-D", np.zeros((1, 1, n), dtype=np.int64)),
        ("two generators against one", np.array([[*range(1, n), 0], list(range(n))])),
    ]


def _bad_actions(n: int) -> Values:
    """Bad values where an action on ``n`` points (`Action`, group or permutations) is expected."""
    return [
        ("repeated index", [[0, 0, *range(1, n - 1)]]),
        ("index out of range", [list(range(1, n + 1))]),
        ("fractional", [[0.5, *map(float, range(1, n))]]),
        ("none", None),
        ("string", "S4"),
        ("group on two sets", direct_product(symmetric(n), cyclic(2))),
        ("representation", Representation.rotation(4)),
        ("int", n),
    ]


ORDERS: Values = [("bool", True), ("float", 1.0), ("string", "1"), ("none", None)]
AGGREGATIONS: Values = [("unknown", "max"), ("capitalised", "Sum"), ("none", None), ("int", 1)]


def _channels() -> dict[str, Values]:
    return {
        "in_channels": not_counts(1, 3),
        "out_channels": [("zero", 0), ("negative", -1), ("float", 2.5), ("string", "4"), ("bool", True)],
        "bias": NOT_FLAGS,
        "aggregation": AGGREGATIONS,
    }


def _set_forward(x: Any) -> Any:
    return SetLinear(3, 4)(x)


def _graph_forward(x: Any) -> Any:
    return GraphLinear(3, 4)(x)


def build() -> Battery:
    b = Battery()
    s4 = symmetric(4)

    # --- EquivariantLinear, EquivariantMLP, OrbitPool ---------------------------------------------
    b.mutate(
        "eqlab.nn.EquivariantLinear",
        EquivariantLinear,
        lambda: {
            "in_perms": s4.action(),
            "out_perms": s4.action(),
            "bias": True,
            "design": "sparse",
            "in_channels": 2,
            "out_channels": 3,
            "connections": [0],
        },
        {
            "in_perms": [*_bad_actions(4), ("different generator count", [[1, 0, 2, 3]])],
            "out_perms": [("string", "S4"), ("none", None), ("repeated index", [[0, 0, 1, 2], [1, 2, 3, 0]])],
            "bias": NOT_FLAGS,
            "design": [
                ("dense with connections", "dense"),
                ("dense member with connections", Design.DENSE),
                ("unknown", "full"),
                ("capitalised", "Sparse"),
                ("none", None),
                ("int", 1),
                ("the enum class", Design),
            ],
            "in_channels": [("zero", 0), ("negative", -1), ("bool", True), ("float", 2.0), ("string", "2")],
            "out_channels": [("bool", True), ("zero", 0), ("float", 2.5)],
            "connections": [
                ("out of range", [5]),
                ("negative", [-1]),
                ("fractional", [0.5]),
                ("string", "0"),
                ("int", 0),
                ("bool", [True]),
                ("none entry", [None]),
            ],
        },
    )

    b.mutate(
        "eqlab.nn.EquivariantMLP",
        EquivariantMLP,
        lambda: {
            "in_action": s4.action(),
            "hidden_channels": [4],
            "out_features": 2,
            "hidden_action": s4.action(),
            "in_channels": 2,
            "activation": "tanh",
            "design": "dense",
            "head_channels": [3],
        },
        {
            "in_action": [("none", None), ("repeated index", [[0, 0, 1, 2]]), ("string", "S4")],
            "hidden_channels": [
                ("empty", []),
                ("zero width", [0]),
                ("negative width", [-2]),
                ("float width", [4.0]),
                ("string", "4"),
                ("int", 4),
                ("none", None),
                ("bool width", [True]),
            ],
            "out_features": not_counts(1, 2),
            "hidden_action": [
                ("different generator count", cyclic(4).action()),
                ("string", "S4"),
            ],
            "in_channels": [("zero", 0), ("negative", -1), ("bool", True), ("float", 2.0)],
            "activation": [
                ("unknown name", "relu6"),
                ("module instance", nn.ReLU()),
                ("int", 5),
                ("none", None),
                ("factory of a non-module", lambda: 5),
            ],
            "design": [("unknown", "full"), ("none", None), ("bytes", b"dense")],
            "head_channels": [("zero width", [0]), ("negative width", [-1]), ("int", 3), ("float", [2.5])],
        },
    )

    b.mutate(
        "eqlab.nn.OrbitPool",
        OrbitPool,
        lambda: {"action": s4.action()},
        {"action": [*_bad_actions(4), ("3-D", np.zeros((1, 1, 4), dtype=np.int64))]},
    )

    # --- SymmetricLinear, SetLinear, GraphLinear (ign.py) -----------------------------------------
    b.mutate(
        "eqlab.nn.SymmetricLinear",
        SymmetricLinear,
        {
            "in_order": 2,
            "out_order": 1,
            "in_channels": 3,
            "out_channels": 4,
            "bias": True,
            "aggregation": "sum",
        },
        {
            "in_order": [("zero", 0), ("three", 3), *ORDERS],
            "out_order": [("negative", -1), ("three", 3), *ORDERS],
            **_channels(),
        },
    )
    for name, layer in (("SetLinear", SetLinear), ("GraphLinear", GraphLinear)):
        b.mutate(
            f"eqlab.nn.{name}",
            layer,
            {"in_channels": 3, "out_channels": 4, "bias": True, "aggregation": "mean"},
            _channels(),
        )
    forward: dict[str, Values] = {
        "x": [
            ("wrong channels", torch.randn(2, 5, 4)),
            ("rank 1", torch.randn(3)),
            ("integer dtype", torch.ones(2, 5, 3, dtype=torch.long)),
            ("numpy", np.zeros((2, 5, 3), dtype=np.float32)),
            ("none", None),
        ]
    }
    b.mutate("eqlab.nn.SetLinear", _set_forward, lambda: {"x": torch.randn(2, 5, 3)}, forward)
    b.mutate(
        "eqlab.nn.GraphLinear",
        _graph_forward,
        lambda: {"x": torch.randn(2, 5, 5, 3)},
        {"x": [("not square", torch.randn(2, 4, 5, 3)), ("rank 2", torch.randn(5, 3)), *forward["x"][2:]]},
    )

    b.mutate("eqlab.sharing._ign.set_partitions", set_partitions, {"size": 3}, {"size": not_counts(0, 3)})
    b.add_valid("eqlab.sharing._ign.set_partitions", lambda: set_partitions(np.int64(3)))
    b.add_valid("eqlab.nn.SetLinear", lambda: SetLinear(np.int64(3), np.int32(4)))
    b.add_valid("eqlab.sharing._ign.equality_pattern", lambda: equality_pattern(np.array([5, 2, 5])))
    b.mutate(
        "eqlab.sharing._ign.equality_pattern",
        equality_pattern,
        {"indices": [5, 2, 5, 7]},
        {
            "indices": [
                ("fractional", [1.5, 2.0]),
                ("bools", [True, False]),
                ("string", "5257"),
                ("none", None),
                ("int", 5),
                ("nested", [[1], [2]]),
                ("nan", [NAN]),
                ("words", ["a", "b"]),
                ("digit strings", ["1", "2"]),
            ]
        },
    )

    # --- patterns ---------------------------------------------------------------------------------
    def generators() -> dict[str, Any]:
        return {"in_generators": np.array([[1, 2, 0]]), "out_generators": np.array([[2, 0, 1]])}

    stacks = {
        "in_generators": _bad_stacks(3),
        "out_generators": [
            ("repeated index", np.array([[0, 0, 1]])),
            ("index out of range", np.array([[1, 2, 3]])),
            ("none", None),
            ("two generators against one", np.array([[1, 2, 0], [0, 1, 2]])),
            ("string", "120"),
        ],
    }
    b.mutate("eqlab.sharing._pattern.dense_pattern", dense_pattern, generators, stacks)
    b.mutate("eqlab.sharing._pattern.pair_orbit_labels", pair_orbit_labels, generators, stacks)
    b.mutate(
        "eqlab.sharing._pattern.sparse_pattern",
        sparse_pattern,
        lambda: {**generators(), "connections": [0]},
        {
            **stacks,
            "connections": [
                ("out of range", [5]),
                ("negative", [-1]),
                ("fractional", [0.5]),
                ("string", "0"),
                ("int", 0),
                ("bool", [True]),
                ("none entry", [None]),
            ],
        },
    )

    a4 = alternating(4)
    b.mutate(
        "eqlab.sharing.symmetry_group",
        sharing.symmetry_group,
        lambda: {"layer": EquivariantLinear(a4.action(), a4.action())},
        {
            "layer": [
                ("none", None),
                ("plain linear", nn.Linear(4, 4)),
                ("set layer", SetLinear(1, 1)),
                ("string", "layer"),
                ("sharing pattern", dense_pattern(np.array([[1, 2, 0]]), np.array([[1, 2, 0]]))),
                ("int", 4),
                ("group", a4),
                ("inside a Sequential", nn.Sequential(EquivariantLinear(a4.action(), a4.action()))),
            ]
        },
    )
    return b
