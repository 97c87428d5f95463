"""Bad inputs for eqlab.trace: tracing a model."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from eqlab import trace
from eqlab.trace._graph import is_eqlab_layer
from tests.battery.harness import Battery


def _model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU())


def _valid() -> dict[str, Any]:
    return {"model": _model(), "example_input": torch.zeros(1, 1, 8, 8)}


NOT_MODULES = [
    ("none", None),
    ("function", torch.relu),
    ("string", "resnet18"),
    ("class", nn.Conv2d),
    ("tensor", torch.zeros(2)),
]


def build() -> Battery:
    b = Battery()
    b.mutate(
        "eqlab.trace.trace_model",
        trace.trace_model,
        _valid,
        {
            "model": NOT_MODULES,
            "example_input": [
                ("none", None),
                ("numpy", np.zeros((1, 1, 8, 8))),
                ("list", [[0.0]]),
                ("0-d", torch.tensor(1.0)),
                ("empty", torch.zeros(0, 1, 8, 8)),
                ("wrong channels", torch.zeros(1, 3, 8, 8)),
                ("wrong rank", torch.zeros(8, 8)),
            ],
        },
        names={"example_input": ("example_input", "input of shape")},
    )
    b.mutate(
        "eqlab.trace._graph.is_eqlab_layer",
        is_eqlab_layer,
        lambda: {"module": _model()},
        {"module": [*NOT_MODULES, ("int", 3), ("list of modules", [nn.ReLU()]), ("array", np.zeros(2))]},
    )
    return b
