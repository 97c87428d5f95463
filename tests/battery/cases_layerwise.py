"""Bad inputs for `eqlab.layerwise`: transformed networks, permutation specs, alignment, merging, barriers."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from eqlab import layerwise as lw
from eqlab.layerwise import _barrier, _cycles, _merge, _permute, _spec, _transform
from tests.battery.harness import Battery


def _cnn(width: int = 4, batchnorm: bool = False, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    norm: list[nn.Module] = [nn.BatchNorm2d(width)] if batchnorm else []
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        *norm,
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, 3),
    )


def _unsupported() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Upsample(scale_factor=2), nn.Conv2d(4, 3, 3))


def _x(n: int = 6, channels: int = 1, size: int = 8) -> torch.Tensor:
    return torch.randn(n, channels, size, size, generator=torch.Generator().manual_seed(1))


def _y(n: int = 6) -> torch.Tensor:
    return torch.randint(0, 3, (n,), generator=torch.Generator().manual_seed(2))


def _identity(model: nn.Module) -> list[torch.Tensor]:
    return [torch.arange(s.size) for s in _spec.derive_spec(model).channel_sets]


class _NotAPermutation:
    """A solver that returns the same channel for every row."""

    def __call__(self, cost: np.ndarray) -> np.ndarray:
        return np.zeros(cost.shape[0], dtype=np.int64)


# bad inputs shared by several entry points
def _bad_models() -> list[tuple[str, Any]]:
    return [("None", None), ("string", "net"), ("a class, not an instance", nn.Conv2d)]


def _bad_inputs() -> list[tuple[str, Any]]:
    """Bad unlabelled inputs for a 1-channel CNN."""
    return [
        ("int", 5),
        ("list of strings", ["a", "b"]),
        ("wrong channel count", _x(channels=3)),
        ("rank 2", torch.randn(6, 64)),
        ("empty batch", torch.zeros(0, 1, 8, 8)),
        ("integer dtype", torch.zeros(6, 1, 8, 8, dtype=torch.long)),
    ]


def _bad_labelled() -> list[tuple[str, Any]]:
    """Bad labelled data ``(x, y)`` for a 1-channel CNN with 3 outputs."""
    x, y = _x(), _y()
    return [
        ("inputs alone, without labels", x),
        ("None", None),
        ("int", 5),
        ("a 1-tuple", (x,)),
        ("labels of another length", (x, _y(5))),
        ("float labels", (x, y.float())),
        ("labels out of range", (x, y + 3)),
        ("rank 2 labels", (x, y[:, None])),
        ("empty list", []),
        ("wrong channel count", (_x(channels=3), y)),
    ]


def build() -> Battery:
    b = Battery()

    b.mutate(
        "eqlab.layerwise.transform_network",
        lw.transform_network,
        lambda: {"model": _cnn(), "transform": "hflip", "input_size": 8},
        {
            "model": [
                *_bad_models(),
                ("unsupported layer", _unsupported()),
                ("an MLP on the flattened image", nn.Sequential(nn.Flatten(), nn.Linear(64, 3))),
                (
                    "even kernel with padding='same'",
                    nn.Sequential(nn.Conv2d(1, 2, 2, padding="same"), nn.ReLU(), nn.Conv2d(2, 1, 1)),
                ),
            ],
            "transform": [("unknown", "rot180"), ("None", None), ("int", 1), ("upper case", "HFLIP")],
            "input_size": [
                ("zero", 0),
                ("negative", -5),
                ("float", 2.5),
                ("string", "16"),
                ("bool", True),
            ],
        },
    )

    b.mutate(
        "eqlab.layerwise._transform.apply_transform",
        _transform.apply_transform,
        lambda: {"x": _x(), "transform": "rot90", "times": 1},
        {
            "x": [
                ("None", None),
                ("list", [[0.0]]),
                ("rank 1", torch.rand(5)),
                ("rank 0", torch.tensor(1.0)),
                ("numpy array", np.zeros((2, 2))),
            ],
            "transform": [("unknown", "rot180"), ("None", None), ("int", 5)],
            "times": [("float", 1.5), ("string", "1"), ("bool", True), ("None", None)],
        },
    )

    b.mutate(
        "eqlab.layerwise._spec.derive_spec",
        _spec.derive_spec,
        lambda: {"model": _cnn()},
        {
            "model": [
                *_bad_models(),
                ("int", 5),
                ("unsupported layer", _unsupported()),
                (
                    "grouped convolution",
                    nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.ReLU(), nn.Conv2d(4, 2, 1)),
                ),
                ("an embedding", nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 2))),
                ("untraceable control flow", _Untraceable()),
            ]
        },
    )

    b.mutate(
        "eqlab.layerwise.align",
        lw.align,
        lambda: {
            "model_a": _cnn(),
            "model_b": _cnn(seed=1),
            "method": "weights",
            "data": _x(),
            "solver": None,
            "seed": 0,
        },
        {
            "model_a": [
                *_bad_models(),
                ("another architecture", _cnn(5)),
                ("unsupported layer", _unsupported()),
            ],
            "model_b": [("None", None), ("another architecture", _cnn(5)), ("int", 5)],
            "method": [("unknown", "weight"), ("None", None), ("int", 3)],
            "data": _bad_inputs(),
            "solver": [("string", "linear"), ("int", 5), ("not a permutation", _NotAPermutation())],
            "seed": [("negative", -1), ("float", 1.5), ("string", "0"), ("None", None)],
        },
    )

    b.mutate(
        "eqlab.layerwise.self_align",
        lw.self_align,
        lambda: {
            "model": _cnn(),
            "transform": "hflip",
            "method": "activations",
            "data": _x(),
            "involution": False,
            "input_size": 8,
            "seed": 0,
        },
        {
            "model": [*_bad_models(), ("unsupported layer", _unsupported())],
            "transform": [("unknown", "rot180"), ("None", None)],
            "method": [("unknown", "x"), ("None", None)],
            "data": [*_bad_inputs(), ("None with activations", None)],
            "involution": [("string", "yes"), ("int", 1), ("None", None)],
            "input_size": [("zero", 0), ("negative", -1), ("float", 2.5), ("string", "8")],
            "seed": [("negative", -1), ("string", "0"), ("float", 1.5)],
            "constrain": [("string", "yes"), ("int", 1), ("float", 0.5)],
        },
    )

    b.mutate(
        "eqlab.layerwise.self_align",
        lw.self_align,
        lambda: {"model": _cnn(), "transform": "hflip", "involution": True},
        {
            "constrain": [("off while involution is on", False)],
            "transform": [("rot90, which has no involution constraint", "rot90"), ("a group name", "p4")],
        },
    )

    b.mutate(
        "eqlab.layerwise._cycles.cycle_structure",
        _cycles.cycle_structure,
        lambda: {"perm": torch.tensor([1, 0, 2, 4, 3]), "order": 2},
        {
            "perm": [
                ("not a permutation", torch.tensor([0, 0, 1])),
                ("out of range", torch.tensor([0, 5])),
                ("a list", [1, 0]),
                ("float", torch.tensor([1.0, 0.0])),
                ("rank 2", torch.tensor([[1, 0], [0, 1]])),
                ("None", None),
                ("negative entries", torch.tensor([-1, 0])),
            ],
            "order": [("zero", 0), ("negative", -1), ("float", 1.5), ("string", "2"), ("bool", True)],
        },
    )

    b.add_valid(
        "eqlab.layerwise._cycles.cycle_structure",
        lambda: _cycles.cycle_structure(torch.tensor([1, 0]), np.int64(4)),
    )
    b.add_valid(
        "eqlab.layerwise._transform.apply_transform",
        lambda: _transform.apply_transform(_x(), "hflip", np.int64(3)),
    )
    b.add_valid(
        "eqlab.layerwise.interpolation_barrier",
        lambda: lw.interpolation_barrier(
            _cnn(), _cnn(seed=1), DataLoader(TensorDataset(_x(), _y()), batch_size=4), np.int64(2)
        ),
    )

    for entry, solve in (
        ("eqlab.layerwise._cycles.involution_assignment", _cycles.involution_assignment),
        ("eqlab.layerwise._cycles.order4_assignment", _cycles.order4_assignment),
    ):
        _solver_cases(b, entry, solve)

    b.mutate(
        "eqlab.layerwise._barrier.evaluate",
        _barrier.evaluate,
        lambda: {"model": _cnn(), "data": (_x(), _y())},
        {
            "model": [*_bad_models(), ("outputs that are not logits", nn.Conv2d(1, 3, 3))],
            "data": _bad_labelled(),
        },
    )

    b.mutate(
        "eqlab.layerwise.group_average",
        lw.group_average,
        lambda: {
            "model": _cnn(batchnorm=True),
            "transform": "hflip",
            "permutations": _identity(_cnn(batchnorm=True)),
            "data": _x(),
            "spec": None,
            "input_size": 8,
        },
        {
            "model": [*_bad_models(), ("unsupported layer", _unsupported())],
            "transform": [("unknown", "rot180"), ("None", None)],
            "permutations": [
                ("too few", [torch.arange(4)]),
                ("too many", [torch.arange(4)] * 3),
                ("not a permutation", [torch.zeros(4, dtype=torch.long), torch.arange(4)]),
                ("wrong size", [torch.arange(5), torch.arange(4)]),
                ("lists", [[0, 1, 2, 3], [0, 1, 2, 3]]),
                ("float tensors", [torch.arange(4.0), torch.arange(4.0)]),
                ("not an involution", [torch.tensor([1, 2, 0, 3]), torch.arange(4)]),
            ],
            "data": [("int", 5), ("wrong channel count", _x(channels=3)), ("list of strings", ["a"])],
            "spec": [("string", "spec"), ("another model's spec", _spec.derive_spec(_cnn(5)))],
            "input_size": [("zero", 0), ("negative", -3), ("float", 2.5), ("string", "8"), ("bool", True)],
        },
    )

    b.mutate(
        "eqlab.layerwise.group_average",
        lw.group_average,
        lambda: {"model": _cnn(), "transform": "rot90", "permutations": _identity(_cnn())},
        {
            "permutations": [
                ("a 3-cycle", [torch.tensor([1, 2, 0, 3]), torch.arange(4)]),
                ("a 4-cycle and a 3-cycle", [torch.tensor([1, 2, 3, 0]), torch.tensor([1, 2, 0, 3])]),
            ],
        },
    )

    b.mutate(
        "eqlab.layerwise._merge.interpolate",
        _merge.interpolate,
        lambda: {"model_a": _cnn(), "model_b": _cnn(seed=1), "alpha": 0.5},
        {
            "model_a": [*_bad_models(), ("another architecture", _unsupported())],
            "model_b": [("None", None), ("string", "b"), ("another width", _cnn(5))],
            "alpha": [
                ("nan", float("nan")),
                ("inf", float("inf")),
                ("negative", -0.5),
                ("above one", 1.5),
                ("string", "0.5"),
                ("None", None),
                ("bool", True),
                ("a tensor of two", torch.tensor([0.1, 0.2])),
            ],
        },
    )

    b.mutate(
        "eqlab.layerwise.merge",
        lw.merge,
        lambda: {
            "model_a": _cnn(),
            "model_b_aligned": _cnn(seed=1),
            "alpha": 0.5,
            "data": _x(),
            "statistics": "auto",
        },
        {
            "model_a": [*_bad_models(), ("another architecture", _unsupported())],
            "model_b_aligned": [("None", None), ("int", 5), ("another width", _cnn(5))],
            "alpha": [
                ("nan", float("nan")),
                ("inf", float("inf")),
                ("negative", -0.5),
                ("above one", 1.5),
                ("string", "0.5"),
                ("None", None),
            ],
            "data": _bad_inputs(),
            "statistics": [("unknown", "batchnorm"), ("None", None), ("int", 1)],
        },
    )

    b.mutate(
        "eqlab.layerwise._merge.repair",
        _merge.repair,
        lambda: {
            "merged": _merge.interpolate(_cnn(), _cnn(seed=1), 0.5),
            "model_a": _cnn(),
            "model_b": _cnn(seed=1),
            "alpha": 0.5,
            "data": _x(),
        },
        {
            "merged": [*_bad_models(), ("another width", _cnn(5)), ("unsupported layer", _unsupported())],
            "model_a": [("None", None), ("another width", _cnn(5))],
            "model_b": [("None", None), ("int", 5), ("another width", _cnn(5))],
            "alpha": [("nan", float("nan")), ("negative", -1.0), ("string", "x")],
            "data": [("None", None), *_bad_inputs()],
        },
    )

    b.mutate(
        "eqlab.layerwise._merge.reset_batchnorm",
        _merge.reset_batchnorm,
        lambda: {"model": _cnn(batchnorm=True), "data": _x()},
        {
            "model": [*_bad_models(), ("int", 5)],
            "data": [("None", None), *_bad_inputs()],
        },
    )

    b.mutate(
        "eqlab.layerwise.interpolation_barrier",
        lw.interpolation_barrier,
        lambda: {
            "model_a": _cnn(),
            "model_b": _cnn(seed=1),
            "data": (_x(), _y()),
            "alphas": 3,
            "statistics_data": _x(),
            "statistics": "auto",
        },
        {
            "model_a": [*_bad_models(), ("another width", _cnn(5))],
            "model_b": [("None", None), ("another width", _cnn(5))],
            "data": _bad_labelled(),
            "alphas": [
                ("one", 1),
                ("zero", 0),
                ("negative", -3),
                ("float", 2.5),
                ("string", "11"),
                ("empty", []),
                ("nan entry", [0.0, float("nan"), 1.0]),
                ("outside [0, 1]", [0.0, 2.0]),
                ("bool", True),
            ],
            "statistics_data": [
                ("int", 5),
                ("wrong channel count", _x(channels=3)),
                ("list of strings", ["a"]),
            ],
            "statistics": [("unknown", "bn"), ("None", None)],
        },
    )

    b.mutate(
        "eqlab.layerwise._barrier.interpolation_barriers",
        _barrier.interpolation_barriers,
        lambda: {
            "model_a": _cnn(),
            "model_b": _cnn(seed=1),
            "datasets": {"test": (_x(), _y()), "loader": DataLoader(TensorDataset(_x(), _y()), batch_size=3)},
            "alphas": [0.0, 0.5, 1.0],
            "statistics_data": None,
            "statistics": "auto",
        },
        {
            "model_a": [("None", None)],
            "model_b": [("string", "b")],
            "datasets": [
                ("a pair, not a mapping", (_x(), _y())),
                ("empty", {}),
                ("inputs alone", {"test": _x()}),
                ("None", None),
                ("a list of pairs", [("test", (_x(), _y()))]),
                ("labels of another length", {"test": (_x(), _y(5))}),
            ],
            "alphas": [("one", 1), ("zero", 0), ("empty", []), ("nan entry", [float("nan")])],
            "statistics_data": [("int", 5)],
            "statistics": [("unknown", "x")],
        },
    )

    b.mutate(
        "eqlab.layerwise._permute.permute_model",
        _permute.permute_model,
        lambda: {"model": _cnn(), "spec": _spec.derive_spec(_cnn()), "perms": _identity(_cnn())},
        {
            "model": [*_bad_models(), ("another width", _cnn(5))],
            "spec": [
                ("None", None),
                ("string", "spec"),
                ("another model's spec", _spec.derive_spec(_cnn(5))),
            ],
            "perms": [
                ("too few", [torch.arange(4)]),
                ("not a permutation", [torch.zeros(4, dtype=torch.long), torch.arange(4)]),
                ("wrong size", [torch.arange(5), torch.arange(4)]),
                ("lists", [[0, 1, 2, 3], [0, 1, 2, 3]]),
                ("float tensors", [torch.arange(4.0), torch.arange(4.0)]),
                ("None", None),
            ],
        },
    )
    return b


def _solver_cases(b: Battery, entry: str, solve: Any) -> None:
    """Bad cost matrices for a restricted assignment solver."""
    b.mutate(
        entry,
        solve,
        lambda: {"cost": np.random.default_rng(0).normal(size=(4, 4))},
        {
            "cost": [
                ("None", None),
                ("int", 5),
                ("string", "abc"),
                ("rank 1", np.zeros(4)),
                ("rank 3", np.zeros((2, 2, 2))),
                ("not square", np.zeros((3, 4))),
                ("nan entry", np.array([[0.0, np.nan], [1.0, 0.0]])),
                ("inf entry", np.array([[0.0, np.inf], [1.0, 0.0]])),
                ("object dtype", np.array([[None, 1], [1, None]], dtype=object)),
                ("complex", np.zeros((2, 2), dtype=complex)),
            ]
        },
    )


class _Untraceable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # data-dependent control flow: torch.fx cannot trace it
            return self.conv(x)
        return -self.conv(x)
