"""Bad inputs for eqlab.groups: the catalogue of groups, `Group`, `Action`, `Representation` and the
permutation helpers.

The value lists at the top (`not_counts`, `NOT_FLAGS`) are shared by the other case modules.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn

import eqlab.groups
from eqlab.groups import Group, Representation, _catalogue, _group, _perm, _representation, direct_product
from tests.battery.harness import Battery

# the public names and the internal helpers they are built from, which the cases still exercise
groups = SimpleNamespace(
    **{
        **{k: v for m in (_perm, _group, _catalogue, _representation) for k, v in vars(m).items()},
        **{name: getattr(eqlab.groups, name) for name in eqlab.groups.__all__},
    }
)

NAN = float("nan")
INF = float("inf")

Values = list[tuple[str, Any]]


def not_counts(minimum: int = 1, value: int = 4) -> Values:
    """Bad values where an integer ``>= minimum`` is expected (``value`` is a good one)."""
    return [
        ("below minimum", minimum - 1),
        ("negative", min(minimum - 1, 0) - 3),
        ("bool", True),
        ("float", float(value)),
        ("string", str(value)),
        ("none", None),
        ("list", [value]),
        ("nan", NAN),
    ]


def not_indices(size: int) -> Values:
    """Bad values where an index in ``0..size-1`` is expected."""
    return [
        ("out of range", size),
        ("negative", -1),
        ("bool", True),
        ("float", 0.0),
        ("string", "0"),
        ("none", None),
    ]


NOT_FLAGS: Values = [("string", "no"), ("none", None), ("int", 2)]
NOT_NAMES: Values = [("int", 5), ("list", ["name"])]


def _bad_permutations(n: int) -> Values:
    """Bad values where one permutation of ``n`` indices (given as a list) is expected."""
    good = [*list(range(1, n)), 0]
    return [
        ("repeated index", [0, 0, *range(1, n - 1)]),
        ("index out of range", [i + 1 for i in range(n)]),
        ("negative index", [-1, *range(n - 1)]),
        ("fractional", [0.5, *map(float, range(1, n))]),
        ("none", None),
        ("string", "".join(map(str, good))),
        ("2-D", [good, good]),
    ]


def _make_group(generators: tuple[Any, ...], name: str | None = None) -> groups.Group:
    return groups.Group(*generators, name=name)


def _direct_product(groups: tuple[Any, ...], name: str | None = None) -> Group:
    return direct_product(*groups, name=name)


def _flip(x: np.ndarray) -> np.ndarray:
    return x[..., ::-1]


def _rotation(order: int) -> Representation:
    return Representation.rotation(order)


def build() -> Battery:
    b = Battery()
    counts = not_counts(1)

    for name in ("cyclic", "dihedral", "symmetric", "alternating"):
        b.mutate(f"eqlab.groups.{name}", getattr(groups, name), {"n": 4}, {"n": counts})

    b.mutate("eqlab.groups.identity", groups.identity, {"n": 3}, {"n": not_counts(0, 3)})
    # numpy integers are integers
    b.add_valid("eqlab.groups.cyclic", lambda: groups.cyclic(np.int64(4)))
    b.add_valid("eqlab.groups.torus", lambda: groups.torus(np.int32(3), reflections=np.bool_(True)))
    b.add_valid("eqlab.groups.identity", lambda: groups.identity(np.int64(3)))
    b.add_valid("eqlab.groups.act", lambda: groups.act(np.array([1, 0]), torch.randn(2, 3), dim=np.int64(0)))
    b.add_valid("eqlab.groups.as_permutations", lambda: groups.as_permutations([], size=np.int64(3)))
    b.add_valid("eqlab.groups.on_tuples", lambda: groups.on_tuples(groups.symmetric(3), np.int64(2)))

    for name in ("square_grid", "torus"):
        b.mutate(
            f"eqlab.groups.{name}",
            getattr(groups, name),
            {"n": 3, "reflections": True},
            {"n": counts, "reflections": NOT_FLAGS},
        )

    b.mutate(
        "eqlab.groups.PointGroup",
        lambda height, width: groups.point_group("hflip").on_grid(height, width),
        {"height": 2, "width": 3},
        {
            "height": not_counts(1, 2),
            "width": [("zero", 0), ("negative", -1), ("float", 1.5), ("string", "3")],
        },
    )
    b.mutate(
        "eqlab.groups.PointGroup",
        lambda height, width: groups.point_group("p4").on_grid(height, width),
        {"height": 3, "width": 3},
        {"width": [("not square for a quarter turn", 4)]},
    )

    b.mutate(
        "eqlab.groups.grid_permutation",
        groups.grid_permutation,
        {"transform": _flip, "h": 2, "w": 3},
        {
            "transform": [
                ("none", None),
                ("not callable", 5),
                ("string", "flip"),
                ("transpose changes the shape", np.transpose),
                ("constant output", np.zeros_like),
                ("fractional output", lambda x: x + 0.5),
                ("drops pixels", lambda x: x[:, :2]),
                ("returns none", lambda x: None),
            ],
            "h": not_counts(1, 2),
            "w": [("zero", 0), ("negative", -1), ("float", 1.5), ("string", "3"), ("none", None)],
        },
    )

    b.mutate(
        "eqlab.groups.direct_product",
        _direct_product,
        lambda: {"groups": (groups.cyclic(3), groups.symmetric(2)), "name": "C3 x S2"},
        {
            "groups": [
                ("no groups", ()),
                ("none among them", (groups.cyclic(3), None)),
                ("an action", (groups.cyclic(3).action(),)),
                ("permutations", ([[1, 2, 0]],)),
                ("string", ("C3",)),
                ("int", (3,)),
                ("representation", (_rotation(4),)),
                ("module", (nn.Linear(2, 2),)),
            ],
            "name": NOT_NAMES,
        },
    )

    b.mutate(
        "eqlab.groups.regular",
        groups.regular,
        lambda: {"group": groups.cyclic(4), "limit": 100},
        {
            "group": [
                ("none", None),
                ("permutations", [[1, 2, 3, 0]]),
                ("action", groups.cyclic(4).action()),
                ("string", "C4"),
                ("representation", _rotation(4)),
            ],
            "limit": [
                ("zero", 0),
                ("negative", -1),
                ("bool", True),
                ("float", 100.0),
                ("string", "100"),
                ("none", None),
                ("nan", NAN),
                ("list", [100]),
            ],
        },
    )

    b.mutate(
        "eqlab.groups.on_tuples",
        groups.on_tuples,
        lambda: {"group": groups.symmetric(3), "order": 2, "index_set": 0},
        {
            "group": [
                ("none", None),
                ("permutations", [[1, 2, 0]]),
                ("action", groups.symmetric(3).action()),
                ("string", "S3"),
                ("int", 3),
            ],
            "order": not_counts(1, 2),
            "index_set": not_indices(1),
        },
    )

    b.mutate(
        "eqlab.groups.tuple_permutations",
        groups.tuple_permutations,
        lambda: {"perms": np.array([[1, 2, 0]]), "order": 2},
        {
            "perms": [
                ("repeated index", np.array([[0, 0, 1]])),
                ("index out of range", np.array([[1, 2, 3]])),
                ("negative index", np.array([[-1, 0, 1]])),
                ("fractional", np.array([[0.5, 1.0, 2.0]])),
                ("none", None),
                ("string", "120"),
                ("3-D", np.zeros((1, 1, 3), dtype=np.int64)),
            ],
            "order": not_counts(1, 2),
        },
    )

    # --- Group, Action, Representation -----------------------------------------------------------
    b.mutate(
        "eqlab.groups.Group",
        _make_group,
        {"generators": ([[1, 2, 0]], [[1, 0]]), "name": "C6"},
        {
            "generators": [
                ("repeated index", ([[0, 0, 1]],)),
                ("index out of range", ([[1, 2, 3]],)),
                ("negative index", ([[-1, 0, 1]],)),
                ("fractional", ([[0.5, 1.5, 2.0]],)),
                ("string", ("abc",)),
                ("none", (None,)),
                ("ragged", ([[1, 0], [1, 2, 0]],)),
                ("3-D", (np.zeros((1, 2, 2), dtype=np.int64),)),
                ("different generator counts", ([[1, 2, 0]], [[1, 0], [0, 1]])),
                ("no index sets", ()),
                ("empty index set", (np.empty((1, 0), dtype=np.int64),)),
            ],
            "name": NOT_NAMES,
        },
    )

    b.mutate(
        "eqlab.groups.Action",
        groups.Action,
        lambda: {"group": groups.dihedral(4), "index_set": 0},
        {
            "group": [
                ("none", None),
                ("permutations", [[1, 2, 0]]),
                ("action", groups.cyclic(3).action()),
                ("string", "C3"),
                ("int", 3),
                ("representation", _rotation(4)),
                ("tensor", torch.tensor([[1, 2, 0]])),
                ("module", nn.Linear(2, 2)),
            ],
            "index_set": not_indices(1),
        },
    )

    rot = [[[0.0, -1.0], [1.0, 0.0]]]
    b.mutate(
        "eqlab.groups.Representation",
        Representation,
        {"generators": rot, "name": "rot"},
        {
            "generators": [
                ("singular", [[[1.0, 0.0], [0.0, 0.0]]]),
                ("non-square", [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]),
                ("nan", [[[NAN, 0.0], [0.0, 1.0]]]),
                ("inf", [[[INF, 0.0], [0.0, 1.0]]]),
                ("string", "rot"),
                ("none", None),
                ("1-D", [1.0, 0.0]),
                ("ragged", [[[1.0, 0.0], [0.0]]]),
                ("complex", np.array([[[0, -1j], [1j, 0]]])),
                ("0 x 0 matrices", np.zeros((1, 0, 0))),
            ],
            "name": NOT_NAMES,
        },
    )

    b.mutate(
        "eqlab.groups.paired_elements",
        groups.paired_elements,
        lambda: {
            "rep_in": _rotation(4),
            "rep_out": Representation.from_permutations([[1, 2, 3, 0]]),
            "limit": 100,
        },
        {
            "rep_in": [
                ("none", None),
                ("matrices", np.array(rot)),
                ("group", groups.cyclic(4)),
                ("string", "C4"),
                ("action", groups.cyclic(4).action()),
            ],
            "rep_out": [
                ("different generator count", Representation(np.stack([np.eye(2), np.eye(2)]))),
                ("none", None),
                ("matrices", np.array(rot)),
            ],
            "limit": [
                ("zero", 0),
                ("negative", -1),
                ("bool", True),
                ("float", 100.0),
                ("string", "100"),
                ("none", None),
                ("nan", NAN),
            ],
        },
    )

    # --- group.py helpers -------------------------------------------------------------------------
    b.mutate(
        "eqlab.groups.orbit_labels",
        groups.orbit_labels,
        lambda: {"generators": np.array([[1, 2, 0, 3]])},
        {
            "generators": [
                ("repeated index", np.array([[0, 0, 1]])),
                ("index out of range", np.array([[1, 2, 3]])),
                ("negative index", np.array([[-1, 0, 1]])),
                ("1-D", np.array([1, 2, 0])),
                ("none", None),
                ("string", "120"),
                ("fractional", np.array([[0.5, 1.0, 2.0]])),
                ("3-D", np.zeros((1, 1, 3), dtype=np.int64)),
            ]
        },
    )

    b.mutate(
        "eqlab.groups.split_orbits",
        groups.split_orbits,
        lambda: {"labels": np.array([0, 1, 0, 2])},
        {
            "labels": [
                ("negative", np.array([-1, 0])),
                ("gap in the labels", np.array([0, 2, 2])),
                ("fractional", np.array([0.5, 1.0])),
                ("2-D", np.array([[0, 1]])),
                ("none", None),
                ("string", "010"),
                ("bool", np.array([True, False])),
                ("nan", np.array([NAN])),
            ]
        },
    )

    b.mutate(
        "eqlab.groups.stack_generators",
        groups.stack_generators,
        lambda: {"actions": [groups.cyclic(3).action(), [[1, 2, 0]]], "names": ["a", "b"]},
        {
            "actions": [
                ("none", None),
                ("fewer than names", [groups.cyclic(3).action()]),
                ("bad permutation", [groups.cyclic(3).action(), [[0, 0, 1]]]),
                ("group on two sets", [groups.cyclic(3).action(), groups.Group([[1, 2, 0]], [[1, 0]])]),
                ("different generator counts", [groups.cyclic(3).action(), [[1, 2, 0], [0, 2, 1]]]),
                ("int", 3),
                ("representation", [groups.cyclic(3).action(), _rotation(3)]),
                ("string", "ab"),
            ],
            "names": [
                ("none", None),
                ("fewer than actions", ["a"]),
                ("string", "ab"),
            ],
        },
        names={"actions": ("actions", "a", "b")},
    )

    # --- perm.py ----------------------------------------------------------------------------------
    b.mutate(
        "eqlab.groups.act",
        groups.act,
        lambda: {"p": [1, 2, 3, 4, 0], "x": torch.randn(4, 5), "dim": -1},
        {
            "p": [
                ("shorter than the axis", [1, 2, 0]),
                ("longer than the axis", [1, 2, 3, 4, 5, 0]),
                *[(label, value) for label, value in _bad_permutations(5) if label != "2-D"],
                ("2-D", [[1, 2, 3, 4, 0], [0, 1, 2, 3, 4]]),
            ],
            "x": [
                ("none", None),
                ("string", "abcde"),
                ("0-d tensor", torch.tensor(1.0)),
                ("float", 3.0),
            ],
            "dim": [
                ("out of range", 2),
                ("too negative", -3),
                ("float", 1.0),
                ("string", "-1"),
                ("bool", True),
                ("none", None),
            ],
        },
    )

    b.mutate(
        "eqlab.groups.as_permutation",
        groups.as_permutation,
        {"p": [2, 0, 1], "name": "p"},
        {
            "p": [
                *_bad_permutations(3),
                ("bool", [True, False]),
                ("ragged", [[0, 1], [0]]),
                ("dict", {0: 1}),
            ],
            "name": [("int", 5), ("none", None)],
        },
        names={"p": ("p",)},
    )

    b.mutate(
        "eqlab.groups.as_permutations",
        groups.as_permutations,
        {"perms": [[1, 2, 0], [0, 2, 1]], "name": "perms", "size": 3},
        {
            "perms": [
                ("repeated index", [[1, 2, 0], [0, 0, 1]]),
                ("ragged", [[1, 2, 0], [1, 0]]),
                ("index out of range", [[1, 2, 3]]),
                ("fractional", [[0.5, 1.0, 2.0]]),
                ("none", None),
                ("string", "120"),
                ("3-D", np.zeros((1, 1, 3), dtype=np.int64)),
                ("int", 3),
                ("a row that is a number", [[1, 2, 0], 2]),
            ],
            "name": [("int", 5)],
            "size": [
                ("mismatch", 4),
                ("negative", -1),
                ("float", 3.0),
                ("string", "3"),
                ("bool", True),
                ("list", [3]),
            ],
        },
    )

    b.mutate(
        "eqlab.groups.compose",
        groups.compose,
        lambda: {"h": np.array([1, 2, 0]), "g": np.array([0, 2, 1])},
        {
            "h": [
                ("repeated index", np.array([0, 0, 1])),
                ("index out of range", np.array([1, 2, 3])),
                ("negative index", np.array([-1, 0, 1])),
                ("fractional", np.array([0.5, 1.0, 2.0])),
                ("longer than g", np.array([1, 2, 3, 0])),
                ("none", None),
                ("string", "120"),
            ],
            "g": [
                ("index out of range", np.array([0, 2, 3])),
                ("shorter than h", np.array([1, 0])),
                ("repeated index", np.array([0, 0, 1])),
                ("fractional", np.array([0.5, 2.0, 1.0])),
                ("none", None),
                ("stack of another width", np.array([[0, 1], [1, 0]])),
            ],
        },
    )

    b.mutate(
        "eqlab.groups.inverse",
        groups.inverse,
        lambda: {"p": np.array([1, 2, 0])},
        {
            "p": [
                ("repeated index", np.array([0, 0, 1])),
                ("index out of range", np.array([1, 2, 3])),
                ("negative index", np.array([-1, 0, 1])),
                ("fractional", np.array([0.5, 1.0, 2.0])),
                ("none", None),
                ("string", "120"),
                ("0-d", np.array(2)),
                ("stack with a bad row", np.array([[1, 2, 0], [1, 1, 0]])),
            ]
        },
    )

    b.mutate(
        "eqlab.groups.is_permutation",
        groups.is_permutation,
        {"p": [1, 2, 0]},
        {
            "p": [
                ("none", None),
                ("string", "012"),
                ("bytes", b"\x00\x01"),
                ("dict", {0: 1}),
                ("set", {0, 1}),
                ("object", object()),
                ("function", len),
                ("ragged", [[0, 1], [0]]),
                ("generator", (i for i in range(3))),
            ]
        },
    )

    b.mutate(
        "eqlab.groups.permutation_matrix",
        groups.permutation_matrix,
        {"p": [1, 2, 0], "dtype": torch.float32},
        {
            "p": [*_bad_permutations(3), ("ragged", [[0, 1], [0]])],
            "dtype": [
                ("string", "float32"),
                ("numpy dtype", np.float32),
                ("int", 3),
            ],
        },
    )
    return b
