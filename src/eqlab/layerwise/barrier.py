"""Interpolation barriers (Frankle et al. 2020, Entezari et al. 2022) along the linear path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from eqlab.layerwise.merge import merge

__all__ = ["BarrierCurve", "evaluate", "interpolation_barrier", "interpolation_barriers"]


@dataclass(frozen=True)
class BarrierCurve:
    """Loss and accuracy of the interpolated networks at each ``alpha`` (0: model_a, 1: model_b)."""

    alphas: tuple[float, ...]
    loss: tuple[float, ...]
    accuracy: tuple[float, ...]

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
    pairs = [data] if isinstance(data, tuple) else data
    total_loss, correct, count = 0.0, 0, 0
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        for x, y in pairs:
            logits = model(x.to(device))
            total_loss += float(F.cross_entropy(logits, y.to(device), reduction="sum"))
            correct += int((logits.argmax(dim=1) == y.to(device)).sum())
            count += len(y)
    return total_loss / count, correct / count


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
    grid = (
        tuple(i / (alphas - 1) for i in range(alphas))
        if isinstance(alphas, int)
        else tuple(float(a) for a in alphas)
    )
    losses: dict[str, list[float]] = {name: [] for name in datasets}
    accuracies: dict[str, list[float]] = {name: [] for name in datasets}
    for alpha in grid:
        merged = merge(model_a, model_b, alpha, data=statistics_data, statistics=statistics)
        for name, data in datasets.items():
            loss, accuracy = evaluate(merged, data)
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
    like with like. ``data`` is ``(x, y)`` or an iterable of such batches; ``statistics_data`` the
    inputs for batch-norm reset or REPAIR (none: interpolated statistics).
    """
    curves = interpolation_barriers(model_a, model_b, {"data": data}, alphas, statistics_data, statistics)
    return curves["data"]
