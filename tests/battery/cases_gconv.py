"""Bad inputs for the group layers of eqlab.nn: lifting and group convolutions, group pooling and batch
norm, and the point groups of eqlab.groups (with their methods, whose arguments users pass too)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import eqlab.nn as layers
from eqlab import groups
from tests.battery.cases_groups import INF, NAN, NOT_FLAGS, not_counts
from tests.battery.harness import Battery

Values = list[tuple[str, Any]]

GROUP_NAMES: Values = [
    ("unknown", "p6"),
    ("capitalised", "P4"),
    ("none", None),
    ("int", 4),
    ("empty", ""),
    ("list", ["p4"]),
    ("bytes", b"p4"),
    ("trailing space", "p4 "),
]


def _conv_arguments() -> dict[str, Values]:
    return {
        "in_channels": not_counts(1, 2),
        "out_channels": [("zero", 0), ("bool", True), ("float", 1.5), ("negative", -2)],
        "kernel_size": [
            ("zero", 0),
            ("negative", -3),
            ("bool", True),
            ("float", 3.0),
            ("pair", (3, 3)),
            ("string", "3"),
        ],
        "group": [("unknown", "p6"), ("capitalised", "P4"), ("none", None), ("list", ["p4"])],
        "stride": [
            ("zero", 0),
            ("negative", -1),
            ("triple", (1, 2, 3)),
            ("float", 1.5),
            ("string", "2"),
            ("bool", True),
            ("zero in a pair", (0, 1)),
            ("none", None),
        ],
        "padding": [
            ("negative", -1),
            ("negative in a pair", (-1, 0)),
            ("float", 1.5),
            ("string", "same"),
            ("none", None),
            ("bool", True),
        ],
        "dilation": [("zero", 0), ("negative", -1), ("float", 1.5), ("bool", True)],
        "bias": NOT_FLAGS,
        "padding_mode": [
            ("unknown", "reflect"),
            ("abbreviated", "circ"),
            ("none", None),
            ("capitalised", "Zeros"),
        ],
    }


def _lifting_forward(x: Any) -> Any:
    return layers.LiftingConv2d(2, 3, 3, group="p4m", padding=1)(x)


def _group_forward(x: Any) -> Any:
    return layers.GroupConv2d(2, 3, 3, group="p4m", padding=1)(x)


def _act_on_image(x: Any, a: Any) -> Any:
    return groups.point_group("p4").act_on_image(x, a)


def _act_on_features(f: Any, a: Any) -> Any:
    return groups.point_group("p4").act_on_features(f, a)


def _multiply(a: Any, b: Any) -> Any:
    return groups.point_group("p4").multiply(a, b)


def _inverse(a: Any) -> Any:
    return groups.point_group("p4m").inverse(a)


def _name_of(a: Any) -> Any:
    return groups.point_group("p4").name_of(a)


ELEMENTS: Values = [
    ("beyond the order", 5),
    ("negative", -1),
    ("float", 1.5),
    ("string", "r"),
    ("bool", True),
    ("none", None),
]


def _pool_forward(name: str, x: Any) -> Any:
    return getattr(layers, name)(2)(x)


def build() -> Battery:
    b = Battery()
    conv_valid = {
        "in_channels": 2,
        "out_channels": 3,
        "kernel_size": 3,
        "group": "p4m",
        "stride": 2,
        "padding": 1,
        "dilation": 1,
        "bias": True,
        "padding_mode": "zeros",
    }
    for name in ("LiftingConv2d", "GroupConv2d"):
        b.mutate(f"eqlab.nn.{name}", getattr(layers, name), conv_valid, _conv_arguments())
        b.add_valid(
            f"eqlab.nn.{name}",
            lambda name=name: getattr(layers, name)(
                np.int64(2), np.int64(3), np.int64(3), stride=(np.int64(2), 2), padding=np.int32(1)
            ),
        )
    forward: Values = [
        ("rank 3", torch.randn(2, 9, 9)),
        ("integer dtype", torch.ones(1, 2, 9, 9, dtype=torch.long)),
        ("numpy", np.zeros((1, 2, 9, 9), dtype=np.float32)),
        ("no pixels", torch.randn(1, 2, 0, 9)),
        ("none", None),
    ]
    b.mutate(
        "eqlab.nn.LiftingConv2d",
        _lifting_forward,
        lambda: {"x": torch.randn(1, 2, 9, 9)},
        {"x": [("wrong channels", torch.randn(1, 3, 9, 9)), *forward]},
    )
    b.mutate(
        "eqlab.nn.GroupConv2d",
        _group_forward,
        lambda: {"x": torch.randn(1, 2, 8, 9, 9)},
        {
            "x": [
                ("wrong channels", torch.randn(1, 3, 8, 9, 9)),
                ("p4 group axis for p4m", torch.randn(1, 2, 4, 9, 9)),
                ("an image", torch.randn(1, 2, 9, 9)),
                ("integer dtype", torch.ones(1, 2, 8, 9, 9, dtype=torch.long)),
                ("numpy", np.zeros((1, 2, 8, 9, 9), dtype=np.float32)),
            ]
        },
    )

    # --- pooling and batch norm -------------------------------------------------------------------
    pool_kernels: Values = [
        ("zero", 0),
        ("negative", -2),
        ("bool", True),
        ("float", 2.0),
        ("string", "2"),
        ("none", None),
        ("triple", (2, 2, 2)),
    ]
    b.mutate(
        "eqlab.nn.GroupMaxPool2d",
        layers.GroupMaxPool2d,
        {
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "dilation": 1,
            "return_indices": False,
            "ceil_mode": False,
        },
        {
            "kernel_size": pool_kernels,
            "stride": [
                ("zero", 0),
                ("negative", -1),
                ("float", 1.5),
                ("string", "2"),
                ("zero in a pair", (2, 0)),
            ],
            "padding": [("negative", -1), ("more than half the kernel", 2), ("float", 0.5)],
            "dilation": [("zero", 0), ("negative", -1), ("float", 1.5)],
            "return_indices": [("true", True), ("string", "no")],
            "ceil_mode": [("string", "yes"), ("int", 2)],
        },
    )
    b.mutate(
        "eqlab.nn.GroupAvgPool2d",
        layers.GroupAvgPool2d,
        {
            "kernel_size": 2,
            "stride": 2,
            "padding": 1,
            "ceil_mode": False,
            "count_include_pad": True,
            "divisor_override": None,
        },
        {
            "kernel_size": pool_kernels,
            "stride": [("zero", 0), ("negative", -1), ("float", 1.5)],
            "padding": [("negative", -1), ("more than half the kernel", 2)],
            "ceil_mode": [("string", "yes")],
            "count_include_pad": [("string", "no")],
            "divisor_override": [("zero", 0), ("negative", -1), ("float", 1.5), ("string", "4")],
        },
    )
    for name in ("GroupMaxPool2d", "GroupAvgPool2d"):
        b.add_valid(
            f"eqlab.nn.{name}", lambda name=name: getattr(layers, name)(np.int64(2), (2, np.int32(2)))
        )
        b.mutate(
            f"eqlab.nn.{name}",
            lambda x, name=name: _pool_forward(name, x),
            lambda: {"x": torch.randn(2, 3, 4, 8, 8)},
            {
                "x": [
                    ("rank 4", torch.randn(2, 12, 8, 8)),
                    ("numpy", np.zeros((2, 3, 4, 8, 8))),
                    ("none", None),
                ]
            },
        )

    b.mutate(
        "eqlab.nn.GroupBatchNorm2d",
        layers.GroupBatchNorm2d,
        {"num_features": 4, "eps": 1e-5, "momentum": 0.1, "affine": True, "track_running_stats": True},
        {
            "num_features": not_counts(1, 4),
            "eps": [("negative", -1.0), ("nan", NAN), ("inf", INF), ("string", "1e-5"), ("none", None)],
            "momentum": [("negative", -0.1), ("above one", 1.5), ("nan", NAN), ("string", "0.1")],
            "affine": [("string", "no"), ("int", 2)],
            "track_running_stats": [("string", "no"), ("none", None)],
            "dtype": [("integer", torch.int64), ("string", "float32")],
            "device": [("nonsense", "gpu0")],
        },
    )
    b.add_valid("eqlab.nn.GroupBatchNorm2d", lambda: layers.GroupBatchNorm2d(np.int64(4), momentum=None))
    b.mutate(
        "eqlab.nn.GroupBatchNorm2d",
        lambda x: layers.GroupBatchNorm2d(4)(x),
        lambda: {"x": torch.randn(2, 4, 4, 5, 5)},
        {
            "x": [
                ("rank 4", torch.randn(2, 4, 5, 5)),
                ("wrong channels", torch.randn(2, 3, 4, 5, 5)),
                ("numpy", np.zeros((2, 4, 4, 5, 5), dtype=np.float32)),
            ]
        },
    )

    b.mutate(
        "eqlab.nn.GroupPool",
        layers.GroupPool,
        {"reduce": "mean"},
        {
            "reduce": [
                ("unknown", "min"),
                ("abbreviated", "avg"),
                ("capitalised", "MAX"),
                ("none", None),
                ("int", 3),
                ("empty", ""),
                ("list", ["max"]),
                ("bytes", b"max"),
            ]
        },
    )
    b.mutate(
        "eqlab.nn.GroupPool",
        lambda x: layers.GroupPool()(x),
        lambda: {"x": torch.randn(2, 3, 4, 5, 5)},
        {"x": [("rank 4", torch.randn(2, 3, 4, 4)), ("numpy", np.zeros((2, 3, 4, 5, 5))), ("none", None)]},
    )

    # --- point groups -----------------------------------------------------------------------------
    b.mutate("eqlab.groups.PointGroup", groups.PointGroup, {"name": "p4"}, {"name": GROUP_NAMES})
    b.mutate(
        "eqlab.groups.point_group",
        groups.point_group,
        {"group": "p4m"},
        {"group": [*GROUP_NAMES, ("set", {"p4"})]},
    )
    b.mutate(
        "eqlab.groups.PointGroup",
        _act_on_image,
        lambda: {"x": torch.randn(2, 5, 5), "a": 1},
        {
            "a": [*ELEMENTS, ("a reflection index in p4", 4)],
            "x": [("1-D", torch.arange(3.0)), ("numpy", np.zeros((3, 3))), ("none", None)],
        },
    )
    b.mutate(
        "eqlab.groups.PointGroup",
        _act_on_features,
        lambda: {"f": torch.randn(2, 4, 5, 5), "a": 1},
        {"a": ELEMENTS[:3], "f": [("no group axis", torch.randn(5, 5)), ("numpy", np.zeros((4, 5, 5)))]},
    )
    b.mutate(
        "eqlab.groups.PointGroup",
        _multiply,
        {"a": 1, "b": 2},
        {"a": ELEMENTS[:4], "b": [("beyond the order", 4), ("negative", -1), ("bool", True)]},
    )
    beyond = ("beyond the order", 9)
    b.mutate("eqlab.groups.PointGroup", _inverse, {"a": 5}, {"a": [beyond, ("negative", -1)]})
    b.mutate("eqlab.groups.PointGroup", _name_of, {"a": 3}, {"a": [beyond, ("negative", -2)]})
    return b
