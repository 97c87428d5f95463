"""The one rule by which every report decides whether a paper's claim is supported.

A claim is a statement about a quantity measured once per seed, with a threshold and a direction
("the MLP's test error minus the equivariant net's is greater than 0"). With at least ``min_seeds``
values, the mean and a two-sided 95% Student-t interval are computed; the claim is **supported** only
when the whole interval lies on the claimed side of the threshold, **not supported** otherwise (the
interval straddles it, or lies on the other side); with fewer seeds, or non-finite values, it is
**not measurable at this scale**.

>>> v = judge("gap", [0.30, 0.25, 0.28, 0.31], threshold=0.0, direction="greater")
>>> v.status, round(v.low, 3) > 0
(<Status.SUPPORTED: 'supported'>, True)
>>> judge("gap", [0.1, -0.2, 0.05], threshold=0.0).status == "not supported"
True
>>> str(judge("gap", [0.1, 0.2], threshold=0.0).status)
'not measurable at this scale'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from eqlab._arguments import choice, describe, integer, real, string
from eqlab._options import Option

__all__ = ["CONFIDENCE", "MIN_SEEDS", "Status", "Verdict", "judge"]

CONFIDENCE = 0.95
"""The confidence of the two-sided Student-t interval of `judge`."""
MIN_SEEDS = 3
"""The fewest per-seed values from which `judge` decides a claim."""


class Status(Option):
    """The decision `judge` takes on a claim (`Verdict.status`); a member is its string."""

    SUPPORTED = "supported"
    """The whole 95% interval of the mean lies on the claimed side of the threshold."""
    NOT_SUPPORTED = "not supported"
    """The interval contains the threshold, or lies on the other side of it."""
    NOT_MEASURABLE = "not measurable at this scale"
    """Fewer values than ``min_seeds``, or a value that is NaN or infinite."""


@dataclass(frozen=True)
class Verdict:
    """The decision on one claim, with the numbers behind it; made by `judge`."""

    claim: str
    """The claim, in words."""
    status: Status
    """The `Status`: supported, not supported, or not measurable at this scale."""
    mean: float
    """The mean of the per-seed values (NaN when not measurable)."""
    low: float
    """The lower end of the two-sided 95% Student-t interval of the mean (NaN when not measurable)."""
    high: float
    """The upper end of that interval (NaN when not measurable)."""
    values: tuple[float, ...]
    """The per-seed values."""
    threshold: float
    """The value the claim compares the quantity with (see ``direction``)."""
    direction: str
    """``"greater"`` or ``"less"``: the claim is that the quantity is greater or less than ``threshold``."""
    detail: str
    """Why, in words (where the interval lies, and on how many values)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["status"] = str(self.status)
        out["values"] = list(self.values)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """Inverse of `to_dict`."""
        status = Status.parse(data["status"], "status")
        return cls(**{**data, "status": status, "values": tuple(data["values"])})


def judge(
    claim: str,
    values: Sequence[float],
    threshold: float = 0.0,
    direction: str = "greater",
    min_seeds: int = MIN_SEEDS,
) -> Verdict:
    """Decide ``claim``: is the per-seed quantity ``values`` reliably ``direction`` than ``threshold``?

    Parameters
    ----------
    claim
        The claim, in words (it names the verdict in reports).
    values
        The quantity measured once per seed: a sequence of numbers (NaN and infinities make the claim
        not measurable).
    threshold
        The value the quantity is claimed to exceed (or stay below).
    direction
        ``"greater"`` or ``"less"``.
    min_seeds
        The fewest values to decide from (at least 2).

    Returns
    -------
    Verdict
        `Status.SUPPORTED` when the whole two-sided 95% Student-t interval of the mean lies on the
        claimed side of ``threshold``, `Status.NOT_SUPPORTED` otherwise, `Status.NOT_MEASURABLE` with
        fewer than ``min_seeds`` values or a non-finite one; with the mean, the interval and why.
    """
    claim = string(claim, "claim")
    vals = _values(values)
    threshold = real(threshold, "threshold")
    direction = choice(direction, "direction", ("greater", "less"))
    min_seeds = integer(min_seeds, "min_seeds", minimum=2)
    n = len(vals)
    mean = sum(vals) / n if n else math.nan
    if n < min_seeds or not all(math.isfinite(v) for v in vals):
        reason = f"{n} seed(s), at least {min_seeds} needed" if n < min_seeds else "non-finite values"
        nan = math.nan
        return Verdict(claim, Status.NOT_MEASURABLE, mean, nan, nan, vals, threshold, direction, reason)
    from scipy import stats

    sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    side = ">" if direction == "greater" else "<"
    holds = low > threshold if direction == "greater" else high < threshold
    against = high < threshold if direction == "greater" else low > threshold
    if holds:
        status, detail = Status.SUPPORTED, f"the whole 95% interval is {side} {threshold:g}"
    elif against:
        status, detail = Status.NOT_SUPPORTED, f"the whole 95% interval is on the other side of {threshold:g}"
    else:
        status, detail = Status.NOT_SUPPORTED, f"the 95% interval contains {threshold:g}"
    return Verdict(claim, status, mean, low, high, vals, threshold, direction, f"{detail} ({n} values)")


def _values(values: Any) -> tuple[float, ...]:
    """The per-seed values as floats; NaN and infinities pass (they make a claim not measurable)."""
    if isinstance(values, np.ndarray) and values.ndim == 1:
        values = values.tolist()
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise TypeError(f"values must be a sequence of numbers (one per seed), got {describe(values)}")
    out = []
    for i, v in enumerate(values):
        number = None
        numeric = isinstance(v, numbers.Real) or hasattr(v, "__float__")
        if numeric and not isinstance(v, (bool, np.bool_, complex)):
            try:
                number = float(v)  # numbers, numpy scalars, one-element tensors
            except (TypeError, ValueError):
                number = None
        if number is None:
            raise TypeError(f"values[{i}] must be a number, got {describe(v)}")
        out.append(number)
    return tuple(out)
