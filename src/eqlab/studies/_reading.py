"""Maxima and minima over runs that keep a NaN: Python's ``max`` and ``min`` drop a NaN unless it comes
first, so a run that diverged would vanish from a claim, caption or table. Shared by the studies."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np

__all__ = ["log_ratio", "maximum", "minimum", "worst"]

T = TypeVar("T")


def maximum(values: Iterable[float]) -> float:
    """The maximum value; NaN if any value is NaN or there is none."""
    array = np.asarray(list(values), dtype=float)
    return float(np.max(array)) if array.size else math.nan


def minimum(values: Iterable[float]) -> float:
    """The minimum value; NaN if any value is NaN or there is none."""
    array = np.asarray(list(values), dtype=float)
    return float(np.min(array)) if array.size else math.nan


def worst(items: Iterable[T], key: Callable[[T], float]) -> T:
    """The item with the maximum ``key``; the first item whose key is NaN if there is one.

    Raises
    ------
    ValueError
        If ``items`` is empty.
    """
    items = list(items)
    if not items:
        raise ValueError("worst: expected at least one item, received none")
    keys = [key(item) for item in items]
    for item, k in zip(items, keys, strict=True):
        if math.isnan(k):
            return item
    return items[int(np.argmax(keys))]


def log_ratio(numerator: float, denominator: float) -> float:
    """``log(numerator / denominator)``; NaN (a claim on it is then not measurable) unless both are
    positive and finite (a zero MSE or a zero target power has no log ratio)."""
    if not (0 < numerator < math.inf and 0 < denominator < math.inf):
        return math.nan
    return math.log(numerator / denominator)
