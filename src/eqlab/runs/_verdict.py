"""The one rule by which every report decides a paper's claim, and the one interval it uses.

A claim is a statement about a quantity measured once per seed, with a threshold and a direction
("the MLP's test error minus the equivariant net's is greater than 0"). From the per-seed values,
`mean_interval` gives the mean and its two-sided 95% Student-t interval, and `judge` decides:

- **supported**: the whole interval lies on the claimed side of the threshold;
- **contradicted**: the whole interval lies on the other side;
- **inconclusive**: the interval contains the threshold;
- **not measurable**: fewer than ``min_seeds`` values, a non-finite one, or values that do not vary
  beyond float64 rounding (a zero-width interval is no evidence) unless the claim states why they cannot
  vary (``exact``).

Each claim is also a *finding* (its outcome could have gone either way) or a *demonstration* (true by
construction: it shows the mechanism works, it does not test the paper); reports keep them apart.

>>> v = judge("gap", [0.30, 0.25, 0.28, 0.31], threshold=0.0, direction="greater")
>>> v.status, round(v.low, 3) > 0
(<Status.SUPPORTED: 'supported'>, True)
>>> str(judge("gap", [0.1, -0.2, 0.05], threshold=0.0).status)
'inconclusive'
>>> str(judge("gap", [-0.3, -0.25, -0.28], threshold=0.0).status)
'contradicted'
>>> str(judge("gap", [1e-9] * 3, threshold=0.0).status)
'not measurable'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eqlab._arguments import choice, describe, integer, real, string
from eqlab._options import Option

__all__ = ["CONFIDENCE", "MIN_SEEDS", "Kind", "Status", "Verdict", "judge", "mean_interval"]

CONFIDENCE = 0.95
"""The confidence of the two-sided Student-t interval of `mean_interval` and `judge`."""
MIN_SEEDS = 3
"""The fewest per-seed values from which `judge` decides a claim."""


class Status(Option):
    """The decision `judge` takes on a claim (`Verdict.status`); a member is its string."""

    SUPPORTED = "supported"
    """The whole 95% interval of the mean lies on the claimed side of the threshold."""
    CONTRADICTED = "contradicted"
    """The whole 95% interval lies on the other side of the threshold."""
    INCONCLUSIVE = "inconclusive"
    """The 95% interval contains the threshold: too wide to say."""
    NOT_MEASURABLE = "not measurable"
    """Fewer values than ``min_seeds``, a value that is NaN or infinite, or no spread without a stated
    reason why there can be none."""


class Kind(Option):
    """Whether a claim tests something or shows something built to hold (`Verdict.kind`)."""

    FINDING = "finding"
    """The outcome could have gone either way: the run tests the paper's claim."""
    DEMONSTRATION = "demonstration"
    """True by construction (an exactly equivariant layer, a network built to satisfy the claim): the run
    shows the mechanism works and would catch a bug, but it does not test the paper."""


@dataclass(frozen=True)
class Verdict:
    """The decision on one claim, with the numbers behind it; made by `judge`."""

    claim: str
    """The claim, in words."""
    status: Status
    """The `Status`: supported, contradicted, inconclusive or not measurable."""
    mean: float
    """The mean of the per-seed values (NaN when there are none)."""
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
    kind: Kind = Kind.FINDING
    """A finding or a demonstration (`Kind`)."""
    exact: str | None = None
    """Why the values cannot vary, when the claim states it (then a zero spread is decided)."""

    @property
    def decided(self) -> bool:
        """Whether the claim was supported or contradicted."""
        return self.status in (Status.SUPPORTED, Status.CONTRADICTED)


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``values`` and its two-sided Student-t interval.

    With one value the interval is ``(nan, nan)``; with none, everything is NaN.

    >>> mean_interval([1.0, 2.0, 3.0])[0]
    2.0
    """
    vals = _values(values)
    confidence = real(confidence, "confidence")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    n = len(vals)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = math.fsum(vals) / n
    if n == 1:
        return mean, math.nan, math.nan
    from scipy import stats

    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in vals) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def judge(
    claim: str,
    values: Sequence[float],
    threshold: float = 0.0,
    direction: str = "greater",
    min_seeds: int = MIN_SEEDS,
    *,
    kind: Kind | str = Kind.FINDING,
    exact: str | None = None,
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
    kind
        A `Kind`: ``"finding"`` (default) or ``"demonstration"`` (true by construction).
    exact
        Why the values cannot vary, if they cannot (for example, a floored error of an exact
        computation); without it, values of zero spread are not measurable.

    Returns
    -------
    Verdict
        The `Status` by the rule of this module, with the mean, the interval and why.
    """
    claim = string(claim, "claim")
    vals = _values(values)
    threshold = real(threshold, "threshold")
    direction = choice(direction, "direction", ("greater", "less"))
    min_seeds = integer(min_seeds, "min_seeds", minimum=2)
    kind = Kind.parse(kind, "kind")
    if exact is not None:
        exact = string(exact, "exact")
    n = len(vals)

    def verdict(status: Status, low: float, high: float, detail: str) -> Verdict:
        mean = math.fsum(vals) / n if n else math.nan
        return Verdict(claim, status, mean, low, high, vals, threshold, direction, detail, kind, exact)

    nan = math.nan
    if n < min_seeds:
        return verdict(Status.NOT_MEASURABLE, nan, nan, f"{n} value(s), at least {min_seeds} needed")
    if not all(math.isfinite(v) for v in vals):
        return verdict(Status.NOT_MEASURABLE, nan, nan, f"non-finite values among the {n}")
    _, low, high = mean_interval(vals)
    if _rounding_spread(vals):
        if exact is None:
            return verdict(
                Status.NOT_MEASURABLE,
                nan,
                nan,
                f"the {n} values do not vary beyond rounding, and no reason is stated why",
            )
        low = high = math.fsum(vals) / n  # rounding noise is no evidence of spread either way
    side = ">" if direction == "greater" else "<"
    holds = low > threshold if direction == "greater" else high < threshold
    against = high < threshold if direction == "greater" else low > threshold
    if holds:
        status, detail = Status.SUPPORTED, f"the whole 95% interval is {side} {threshold:g}"
    elif against:
        status, detail = Status.CONTRADICTED, f"the whole 95% interval is on the other side of {threshold:g}"
    else:
        status, detail = Status.INCONCLUSIVE, f"the 95% interval contains {threshold:g}"
    if _rounding_spread(vals):
        detail += f"; the values cannot vary: {exact}"
    return verdict(status, low, high, f"{detail} ({n} values)")


ROUNDING = 8 * 2.0**-52
"""Values whose spread is at most this times their largest magnitude do not vary (rounding noise)."""


def _rounding_spread(values: tuple[float, ...]) -> bool:
    """Whether ``values`` differ by no more than float64 rounding (identical values included)."""
    return max(values) - min(values) <= ROUNDING * max(abs(v) for v in values)


def _values(values: Any) -> tuple[float, ...]:
    """The per-seed values as floats; NaN and infinities pass (they make a claim not measurable)."""
    ndim = getattr(values, "ndim", None)  # arrays and tensors
    if isinstance(ndim, int) and ndim != 1:
        raise TypeError(f"values must be one-dimensional (one number per seed), got {describe(values)}")
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
