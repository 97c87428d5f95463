"""`eqlab.exactness._grid.pool_offset` reads a pooling's windows in closed form (`pool_windows`); the slow,
obviously correct reference is torch itself, pooling one-hot inputs (`pool_weights`), on every setting
torch accepts over small sizes, kernels, strides, paddings, dilations and both rounding modes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from eqlab.exactness._grid import axis_offset, pool_offset, pool_weights

KINDS = [("max", True, None), ("avg", True, None), ("avg", False, None), ("avg", True, 3)]


def reference(
    n: int, kind: str, k: int, s: int, p: int, d: int, ceil: bool, include: bool, div: int | None
) -> int:
    weights = pool_weights(n, kind, k, s, p, d, ceil, include, div)
    if np.allclose(weights, weights[::-1, ::-1], rtol=0, atol=1e-12):
        return 0
    return max(abs(axis_offset(n, k, s, (p, p), d, ceil)), 1)


@pytest.mark.parametrize(("kind", "include", "div"), KINDS)
def test_the_closed_form_agrees_with_torch(kind: str, include: bool, div: int | None) -> None:
    checked = 0
    for n, k, s, d, ceil in itertools.product(range(1, 26), range(1, 6), range(1, 4), (1, 2), (False, True)):
        if kind == "avg" and d > 1:
            continue  # average pooling has no dilation
        for p in range(k // 2 + 1):
            try:
                expected = reference(n, kind, k, s, p, d, ceil, include, div)
            except RuntimeError:  # torch refuses the setting (the window does not fit)
                continue
            assert pool_offset(n, kind, k, s, p, d, ceil, include, div) == expected, (n, k, s, p, d, ceil)
            checked += 1
    assert checked > 900
