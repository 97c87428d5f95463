"""Bad inputs for `eqlab.train`: the training settings, the loop and the process-group set-up."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.runs import RunFolder
from eqlab.train import Optimizer, Schedule, TrainSettings, train
from eqlab.train._distributed import init_from_env
from tests.battery.harness import Battery

_ROOT = tempfile.TemporaryDirectory(prefix="eqlab-battery-train-")


def _folder() -> Path:
    return Path(tempfile.mkdtemp(dir=_ROOT.name))


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(3, 2)


def _data(n: int = 8, features: int = 3) -> TensorDataset:
    gen = torch.Generator().manual_seed(0)
    return TensorDataset(torch.randn(n, features, generator=gen), torch.randint(0, 2, (n,), generator=gen))


def _valid() -> dict[str, Any]:
    return {
        "model": _model(),
        "data": _data(),
        "settings": TrainSettings(epochs=1, batch_size=4),
        "loss_fn": F.cross_entropy,
        "seed": 0,
        "run": RunFolder(_folder()),
        "unit": "unit",
        "augment": None,
        "config": {"epochs": 1},
        "checkpoint_extra": {"builder": "tests.battery.models:cnn"},
    }


class _Lazy:
    def __init__(self, make: Any) -> None:
        self.make = make


def _train(**kwargs: Any) -> Any:
    return train(**{k: v.make() if isinstance(v, _Lazy) else v for k, v in kwargs.items()})


def _per_example_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out, y, reduction="none")


def build() -> Battery:
    b = Battery()

    b.mutate(
        "eqlab.train.TrainSettings",
        TrainSettings,
        {
            "epochs": 2,
            "batch_size": 4,
            "lr": 1e-3,
            "optimizer": "sgd",
            "momentum": 0.9,
            "weight_decay": 0.0,
            "schedule": "cosine",
            "checkpoint_every": 1,
        },
        {
            "epochs": [
                ("zero", 0),
                ("negative", -1),
                ("float", 2.5),
                ("bool", True),
                ("string", "3"),
                ("None", None),
            ],
            "batch_size": [("zero", 0), ("negative", -2), ("float", 4.0), ("bool", False)],
            "lr": [
                ("nan", float("nan")),
                ("inf", float("inf")),
                ("negative", -0.1),
                ("zero", 0.0),
                ("string", "0.1"),
                ("None", None),
            ],
            "optimizer": [
                ("unknown", "adamw"),
                ("None", None),
                ("int", 1),
                ("capitalised", "Adam"),
                ("a schedule", Schedule.COSINE),
                ("the enum class", Optimizer),
            ],
            "momentum": [("negative", -0.5), ("nan", float("nan")), ("string", "0.9"), ("above 1", 1.5)],
            "weight_decay": [
                ("negative", -1e-4),
                ("nan", float("nan")),
                ("inf", float("inf")),
                ("string", "0"),
            ],
            "schedule": [
                ("unknown", "linear"),
                ("None", None),
                ("int", 1),
                ("an optimizer", Optimizer.SGD),
                ("bytes", b"cosine"),
            ],
            "checkpoint_every": [("zero", 0), ("negative", -1), ("float", 1.5), ("bool", True)],
        },
    )

    b.add_valid(
        "eqlab.train.TrainSettings", lambda: TrainSettings(np.int64(2), np.int32(4), lr=np.float32(0.1))
    )
    b.add_valid(
        "eqlab.train.TrainSettings",
        lambda: TrainSettings(2, 4, optimizer=Optimizer.SGD, schedule=Schedule.CONSTANT),
    )

    b.mutate(
        "eqlab.train.train",
        _train,
        _valid,
        {
            "model": [
                ("None", None),
                ("string", "net"),
                ("no parameters", nn.ReLU()),
                ("a class, not an instance", nn.Linear),
            ],
            "data": [
                ("a bare tensor", torch.randn(8, 3)),
                ("None", None),
                ("empty", _Lazy(lambda: _data(0))),
                ("inputs only", TensorDataset(torch.randn(8, 3))),
                ("inputs of the wrong size", _Lazy(lambda: _data(8, 5))),
                ("int", 8),
            ],
            "settings": [
                ("None", None),
                ("a dict", {"epochs": 1, "batch_size": 4}),
                ("a tuple", (1, 4)),
            ],
            "loss_fn": [
                ("None", None),
                ("string", "cross_entropy"),
                ("per-example loss", _per_example_loss),
            ],
            "seed": [("negative", -1), ("float", 1.5), ("string", "0"), ("None", None), ("bool", True)],
            "run": [("a path string", "runs/x"), ("int", 5), ("a dict", {"path": "runs/x"})],
            "unit": [("empty", ""), ("None", None), ("int", 5), ("a path", "../escape"), ("slash", "a/b")],
            "augment": [
                ("string", "flip"),
                ("int", 5),
                ("returns None", lambda x, g: None),
                ("drops examples", lambda x, g: x[:1]),
            ],
            "config": [("string", "cfg"), ("int", 5), ("list", [1, 2])],
            "checkpoint_extra": [
                ("string", "x"),
                ("reserved key model", {"model": 1}),
                ("reserved key epoch", {"epoch": 0}),
                ("list", [("builder", "x")]),
            ],
        },
    )

    b.mutate(
        "eqlab.train._distributed.init_from_env",
        init_from_env,
        {"device": "cpu"},
        {
            "device": [
                ("unknown", "gpu"),
                ("tpu", "tpu"),
                ("empty", ""),
                ("None", None),
                ("int", 5),
                ("bool", True),
                ("list", ["cpu"]),
                ("bytes", b"cpu"),
            ]
        },
    )
    return b
