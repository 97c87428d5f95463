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

__all__ = ["adaptive_offset", "axis_offset", "output_length"]


def output_length(
    n: int, kernel: int, stride: int, padding: tuple[int, int], dilation: int = 1, ceil_mode: bool = False
) -> int:
    """Number of windows along one axis, with PyTorch's rounding (``ceil_mode`` as in its pooling layers:
    a window that would start beyond the input and the left padding is dropped)."""
    before, after = padding
    span = n + before + after - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    count = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (count - 1) * stride >= n + before:
        count -= 1
    return count


def axis_offset(
    n: int, kernel: int, stride: int, padding: tuple[int, int], dilation: int = 1, ceil_mode: bool = False
) -> int:
    """Pixels by which the mirrored sampling grid misses itself along one axis (0 = exact)."""
    count = output_length(n, kernel, stride, padding, dilation, ceil_mode)
    if count == 0:
        return 0
    before = padding[0]
    end_first = -before + dilation * (kernel - 1)
    start_last = (count - 1) * stride - before
    return (n - 1 - end_first) - start_last


def adaptive_offset(n: int, out: int) -> int:
    """Offset of adaptive pooling from ``n`` to ``out`` cells, whose windows are
    ``[floor(i n / out), ceil((i + 1) n / out))``: 0 when they are symmetric about the centre, else the
    largest mismatch in pixels."""
    windows = [(i * n // out, -((-(i + 1) * n) // out) - 1) for i in range(out)]
    worst = 0
    for i, (start, end) in enumerate(windows):
        mirror_start, mirror_end = n - 1 - end, n - 1 - start
        other_start, other_end = windows[out - 1 - i]
        worst = max(worst, abs(mirror_start - other_start), abs(mirror_end - other_end))
    return worst
