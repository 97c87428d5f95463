"""When does a sampling grid map onto itself under rotations and reflections of the input?

A layer with kernel ``k``, stride ``s``, dilation ``d`` and padding ``(before, after)`` reads, along one
axis of length ``n``, the windows ``[i s - before, i s - before + d (k - 1)]`` for ``i = 0..n_out-1``.
Rotating the image by 90 degrees (or reflecting it) about its centre maps coordinate ``x`` to
``n - 1 - x``; the layer commutes with it exactly when the mirrored first window is the last window.
The *offset*, ``(n - 1 - end_0) - start_last``, is by how many pixels it misses (Edixhoven, Lengyel &
van Gemert 2023). With symmetric padding and floor rounding this is the familiar condition
``(n + 2 padding - dilation (k - 1) - 1) % stride == 0``.

>>> axis_offset(33, kernel=3, stride=2, padding=(1, 1))
0
>>> axis_offset(32, kernel=3, stride=2, padding=(1, 1))
1
>>> axis_offset(28, kernel=2, stride=2, padding=(0, 0))
0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from eqlab._arguments import describe, flag, integer

__all__ = ["adaptive_offset", "axis_offset", "output_length", "pool_offset", "resize_offset", "slice_offset"]


def _window_arguments(
    n: Any, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: Any
) -> tuple[int, int, int, tuple[int, int], int, bool]:
    if isinstance(padding, (str, bytes)) or not isinstance(padding, Sequence) or len(padding) != 2:
        raise TypeError(f"padding must be a (before, after) pair of integers, got {describe(padding)}")
    return (
        integer(n, "n", minimum=1),
        integer(kernel, "kernel", minimum=1),
        integer(stride, "stride", minimum=1),
        (integer(padding[0], "padding[0]", minimum=0), integer(padding[1], "padding[1]", minimum=0)),
        integer(dilation, "dilation", minimum=1),
        flag(ceil_mode, "ceil_mode"),
    )


def output_length(
    n: int, kernel: int, stride: int, padding: tuple[int, int], dilation: int = 1, ceil_mode: bool = False
) -> int:
    """Number of windows along one axis, with PyTorch's rounding (``ceil_mode`` as in its pooling layers:
    a window that would start beyond the input and the left padding is dropped)."""
    n, kernel, stride, padding, dilation, ceil_mode = _window_arguments(
        n, kernel, stride, padding, dilation, ceil_mode
    )
    before, after = padding
    span = n + before + after - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return 0 if span < 0 else span // stride + 1
    count = -(-span // stride) + 1  # ceil(span / stride) + 1, also for a slightly negative span
    if (count - 1) * stride >= n + before:
        count -= 1
    return max(count, 0)


def axis_offset(
    n: int, kernel: int, stride: int, padding: tuple[int, int], dilation: int = 1, ceil_mode: bool = False
) -> int:
    """Pixels by which the mirrored sampling grid misses itself along one axis (0 = exact).

    >>> axis_offset(28, 3, 2, (1, 1)), axis_offset(29, 3, 2, (1, 1)), axis_offset(1, 4, 2, (2, 2))
    (1, 0, 0)
    """
    n, kernel, stride, padding, dilation, ceil_mode = _window_arguments(
        n, kernel, stride, padding, dilation, ceil_mode
    )
    count = output_length(n, kernel, stride, padding, dilation, ceil_mode)
    if count == 0 or (n == 1 and count == 1):
        return 0  # one input and one output cell: the mirror fixes both, whatever the padding
    before = padding[0]
    end_first = -before + dilation * (kernel - 1)
    start_last = (count - 1) * stride - before
    return (n - 1 - end_first) - start_last


def adaptive_offset(n: int, out: int) -> int:
    """Offset of adaptive pooling from ``n`` to ``out`` cells, whose windows are
    ``[floor(i n / out), ceil((i + 1) n / out))``: 0 when they are symmetric about the centre, else the
    largest mismatch in pixels."""
    n = integer(n, "n", minimum=1)
    out = integer(out, "out", minimum=1)
    windows = [(i * n // out, -((-(i + 1) * n) // out) - 1) for i in range(out)]
    worst = 0
    for i, (start, end) in enumerate(windows):
        mirror_start, mirror_end = n - 1 - end, n - 1 - start
        other_start, other_end = windows[out - 1 - i]
        worst = max(worst, abs(mirror_start - other_start), abs(mirror_end - other_end))
    return worst


def slice_offset(n: int, start: int | None, stop: int | None, step: int | None) -> int:
    """Offset of keeping ``range(n)[start:stop:step]``: 0 when the kept indices are mirror-symmetric
    (``i`` kept exactly when ``n - 1 - i`` is), else the largest gap between them and their mirror.

    >>> slice_offset(5, None, None, 2), slice_offset(6, None, None, 2), slice_offset(6, 1, -1, None)
    (0, 1, 0)
    """
    kept = list(range(n))[slice(start, stop, step)]
    if step is not None and step < 0:
        kept = kept[::-1]
    mirrored = sorted(n - 1 - i for i in kept)
    return max((abs(a - b) for a, b in zip(sorted(kept), mirrored, strict=True)), default=0)


def resize_weights(
    n: int, out: int, mode: str, align_corners: bool | None, scale: float | None, antialias: bool = False
) -> np.ndarray:
    """The ``(out, n)`` matrix of one axis of ``F.interpolate`` (float64), computed by torch itself on a
    one-hot input, so it follows torch's rounding exactly. ``scale`` is the factor passed to torch
    (``None`` when the output size was given)."""
    eye = torch.eye(n, dtype=torch.float64).reshape(1, n, n, 1)
    kwargs: dict[str, object] = {"mode": mode}
    if mode in ("linear", "bilinear", "bicubic", "trilinear"):
        kwargs["align_corners"] = align_corners
        kwargs["antialias"] = antialias
    if scale is None:
        moved = F.interpolate(eye, size=(out, 1), **kwargs)  # type: ignore[arg-type]
    else:
        moved = F.interpolate(eye, scale_factor=(scale, 1.0), **kwargs)  # type: ignore[arg-type]
    return moved[0, :, :, 0].T.numpy()


def resize_offset(
    n: int, out: int, mode: str, align_corners: bool | None, scale: float | None, antialias: bool = False
) -> float:
    """Offset of resizing ``n`` pixels to ``out`` along one axis: 0 when the interpolation commutes with
    the mirror image, else the largest shift of a row's centre of mass (pixels).

    >>> resize_offset(4, 8, "nearest", None, 2.0), resize_offset(4, 8, "bilinear", False, 2.0)
    (0.0, 0.0)
    >>> resize_offset(5, 7, "nearest", None, None) > 0
    True
    """
    weights = resize_weights(n, out, mode, align_corners, scale, antialias)
    if weights.shape != (out, n):
        raise ValueError(f"resizing {n} pixels gave {weights.shape[0]}, not {out}")
    mirrored = weights[::-1, ::-1]
    if np.allclose(weights, mirrored, rtol=0, atol=1e-12):
        return 0.0
    position = np.arange(n)
    totals = weights.sum(axis=1).clip(min=1e-300)
    centre, mirror_centre = weights @ position / totals, mirrored @ position / totals
    return float(max(np.abs(centre - mirror_centre).max(), 1e-3))


def pool_windows(
    n: int,
    kind: str,
    kernel: int,
    stride: int,
    padding: int,
    dilation: int = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> list[tuple[tuple[int, ...], float]]:
    """One axis of a pooling as ``(pixels read, weight of each)`` per output cell, by PyTorch's rules: a
    max reads the window's pixels inside the input; an average divides by the window's extent up to the
    padded end (``count_include_pad``), by the pixels it reads, or by ``divisor_override``. Rows of
    torch's one-hot pooling (the reference in the tests) without building the matrix."""
    windows = []
    for i in range(output_length(n, kernel, stride, (padding, padding), dilation, ceil_mode)):
        start = i * stride - padding
        if kind == "max":
            cells = tuple(
                x for x in range(start, start + dilation * (kernel - 1) + 1, dilation) if 0 <= x < n
            )
            windows.append((cells, 1.0))
            continue
        end = min(start + kernel, n + padding)
        low, high = max(start, 0), min(end, n)
        divisor = divisor_override or (end - start if count_include_pad else high - low)
        windows.append((tuple(range(low, high)), 1.0 / divisor))
    return windows


def pool_offset(
    n: int,
    kind: str,
    kernel: int,
    stride: int,
    padding: int,
    dilation: int = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> int:
    """Offset of a pooling along one axis: 0 when its windows (and, for averages, its divisors) are their
    own mirror image. Padding takes no part in a max and only counts in an average's divisor, so a
    window reaching into padding on one side only can still be exact (a 3-pixel max pool with padding 1
    on 2 pixels reads both); otherwise the offset of `axis_offset`, at least 1.

    >>> pool_offset(2, "max", 3, 2, 1), axis_offset(2, 3, 2, (1, 1))
    (0, 1)
    """
    windows = pool_windows(
        n, kind, kernel, stride, padding, dilation, ceil_mode, count_include_pad, divisor_override
    )
    mirrored = [(tuple(sorted(n - 1 - x for x in cells)), weight) for cells, weight in reversed(windows)]
    if all(
        a == b and math.isclose(u, v, rel_tol=1e-12) for (a, u), (b, v) in zip(windows, mirrored, strict=True)
    ):
        return 0
    return max(abs(axis_offset(n, kernel, stride, (padding, padding), dilation, ceil_mode)), 1)
