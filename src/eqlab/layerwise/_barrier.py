"""Interpolation barriers (Frankle et al. 2020, Entezari et al. 2022) along the linear path."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from eqlab._arguments import describe, integer, real
from eqlab._arguments import module as check_module
from eqlab.layerwise._checks import (
    LABELLED,
    check_inputs,
    check_labelled,
    device_of,
    forward,
    labelled_batches,
    same_architecture,
)
from eqlab.layerwise._merge import _merge
from eqlab.layerwise._options import Statistics

__all__ = ["BarrierCurve", "evaluate", "interpolation_barrier", "interpolation_barriers"]


@dataclass(frozen=True)
class BarrierCurve:
    """Loss and accuracy of the interpolated networks along the linear path, returned by
    `interpolation_barrier`.
    """

    alphas: tuple[float, ...]
    """The ``k`` interpolation weights, increasing from 0 (model_a) to 1 (model_b)."""
    loss: tuple[float, ...]
    """The ``k`` mean cross-entropies on the evaluation data, one per ``alpha``."""
    accuracy: tuple[float, ...]
    """The ``k`` accuracies (fractions in [0, 1]), one per ``alpha``."""

    @property
    def loss_barrier(self) -> float:
        """``max_alpha L(alpha) - ((1 - alpha) L(0) + alpha L(1))``."""
        l0, l1 = self.loss[0], self.loss[-1]
        return max(v - ((1 - a) * l0 + a * l1) for a, v in zip(self.alphas, self.loss, strict=True))

    @property
    def accuracy_barrier(self) -> float:
        """``max_alpha ((1 - alpha) acc(0) + alpha acc(1)) - acc(alpha)``."""
        a0, a1 = self.accuracy[0], self.accuracy[-1]
        return max((1 - a) * a0 + a * a1 - v for a, v in zip(self.alphas, self.accuracy, strict=True))


def evaluate(model: nn.Module, data: Any) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of a classifier over ``(x, y)`` batches or one ``(x, y)`` pair."""
    check_module(model, "model")
    check_labelled(data)
    return _evaluate(model, data, "data")


def _evaluate(model: nn.Module, data: Any, name: str) -> tuple[float, float]:
    total_loss, correct, count = 0.0, 0, 0
    device = device_of(model)
    model.eval()
    with torch.no_grad():
        for x, y in labelled_batches(data, name):
            logits = forward(model, x, name, device)
            if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[0] != x.shape[0]:
                raise ValueError(
                    f"model must output (batch, classes) logits, got {describe(logits)} for {describe(x)}"
                )
            if int(y.min()) < 0 or int(y.max()) >= logits.shape[1]:
                raise ValueError(
                    f"{name} must hold labels in 0..{logits.shape[1] - 1} (the model's classes), "
                    f"got {int(y.min())}..{int(y.max())}"
                )
            y = y.to(device)
            total_loss += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(dim=1) == y).sum())
            count += len(y)
    return total_loss / count, correct / count


def _grid(alphas: Any) -> tuple[float, ...]:
    """The interpolation weights: ``n >= 2`` evenly spaced from 0 to 1, or increasing values from 0 to 1."""
    expected = "a number of points (>= 2) or increasing weights from 0 to 1"
    if isinstance(alphas, (int, np.integer)) and not isinstance(alphas, (bool, np.bool_)):
        count = integer(alphas, "alphas", minimum=2)
        return tuple(i / (count - 1) for i in range(count))
    if isinstance(alphas, (str, bytes)) or not isinstance(alphas, (Sequence, np.ndarray)):
        raise TypeError(f"alphas must be {expected}, got {describe(alphas)}")
    grid = tuple(real(a, f"alphas[{i}]", minimum=0.0, maximum=1.0) for i, a in enumerate(alphas))
    if len(grid) < 2 or grid[0] != 0.0 or grid[-1] != 1.0 or any(b <= a for a, b in itertools.pairwise(grid)):
        raise ValueError(
            f"alphas must be {expected}: the barrier is measured against the endpoints 0 (model_a) and "
            f"1 (model_b), got {list(grid)}"
        )
    return grid


def interpolation_barriers(
    model_a: nn.Module,
    model_b: nn.Module,
    datasets: Mapping[str, Any],
    alphas: Sequence[float] | int = 11,
    statistics_data: Any = None,
    statistics: str = "auto",
) -> dict[str, BarrierCurve]:
    """`interpolation_barrier` on several evaluation sets at once (``name -> data``), merging once per
    ``alpha``."""
    if not isinstance(datasets, Mapping) or not datasets:
        raise TypeError(
            f"datasets must be a non-empty dict of name -> labelled data ({LABELLED}), "
            f"got {describe(datasets)}"
        )
    names = {name: f"datasets[{name!r}]" for name in datasets}
    for name, data in datasets.items():
        check_labelled(data, names[name])
    return _barriers(model_a, model_b, dict(datasets), names, alphas, statistics_data, statistics)


def _barriers(
    model_a: nn.Module,
    model_b: nn.Module,
    datasets: dict[str, Any],
    names: dict[str, str],
    alphas: Any,
    statistics_data: Any,
    statistics: str,
) -> dict[str, BarrierCurve]:
    same_architecture([("model_a", model_a), ("model_b", model_b)])
    grid = _grid(alphas)
    if statistics_data is not None:
        check_inputs(statistics_data, "statistics_data")
    statistics = Statistics.parse(statistics, "statistics")
    losses: dict[str, list[float]] = {name: [] for name in datasets}
    accuracies: dict[str, list[float]] = {name: [] for name in datasets}
    for alpha in grid:
        merged = _merge(model_a, model_b, alpha, statistics_data, statistics, "statistics_data")
        for name, data in datasets.items():
            loss, accuracy = _evaluate(merged, data, names[name])
            losses[name].append(loss)
            accuracies[name].append(accuracy)
    return {name: BarrierCurve(grid, tuple(losses[name]), tuple(accuracies[name])) for name in datasets}


def interpolation_barrier(
    model_a: nn.Module,
    model_b: nn.Module,
    data: Any,
    alphas: Sequence[float] | int = 11,
    statistics_data: Any = None,
    statistics: str = "auto",
) -> BarrierCurve:
    """Evaluate ``merge(model_a, model_b, alpha, statistics_data)`` on ``data`` for each ``alpha``.

    Every point, the endpoints included, gets the same statistics treatment, so the barrier compares
    like with like.

    Parameters
    ----------
    model_a, model_b
        Classifiers of one architecture (model_b aligned to model_a, usually), outputs ``(N, classes)``.
    data
        Labelled data: ``(x, y)`` with inputs ``(N, C, H, W)`` and integer labels ``(N,)``, or an iterable
        of such batches (a DataLoader of a TensorDataset(x, y)). Unlike `align` and `merge`, which take
        inputs alone, loss and accuracy need the labels.
    alphas
        A number of evenly spaced points (>= 2), or increasing weights from 0 to 1.
    statistics_data
        Inputs ``(N, C, H, W)`` for batch-norm reset or REPAIR, in any form `merge` takes; None keeps
        the interpolated statistics.
    statistics
        As in `merge`: ``"auto"``, ``"reset"``, ``"repair"`` or ``"none"``.

    Returns
    -------
    BarrierCurve
        Loss and accuracy at each ``alpha``, with ``loss_barrier`` and ``accuracy_barrier``.
    """
    check_labelled(data)
    curves = _barriers(
        model_a, model_b, {"data": data}, {"data": "data"}, alphas, statistics_data, statistics
    )
    return curves["data"]
