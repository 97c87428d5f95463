"""`eqlab.exactness._grid.pool_offset` reads a pooling's windows in closed form (`pool_windows`); the slow,
obviously correct reference is torch itself, pooling one-hot inputs (`pool_weights`, here), on every setting
torch accepts over small sizes, kernels, strides, paddings, dilations and both rounding modes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from eqlab.exactness._grid import axis_offset, pool_offset


def pool_weights(
    n: int,
    kind: str,
    kernel: int,
    stride: int,
    padding: int,
    dilation: int = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """The reference: the ``(out, n)`` matrix of one axis of a pooling, computed by torch on one-hot
    inputs: for ``"max"`` the windows (1 where output ``o`` reads pixel ``i``, padding excluded), for
    ``"avg"`` the weights (the divisor included)."""
    eye = torch.eye(n, dtype=torch.float64).reshape(1, n, n, 1)
    if kind == "max":
        moved = F.max_pool2d(eye, (kernel, 1), (stride, 1), (padding, 0), (dilation, 1), ceil_mode=ceil_mode)
    else:
        moved = F.avg_pool2d(
            eye, (kernel, 1), (stride, 1), (padding, 0), ceil_mode, count_include_pad, divisor_override
        )
    return moved[0, :, :, 0].T.numpy()


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
