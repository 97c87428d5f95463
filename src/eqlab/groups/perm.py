"""Small pure functions over permutations, and the one action convention of eqlab.

A permutation of ``n`` indices is an integer array ``p`` of length ``n`` holding each of ``0..n-1`` once.

**The convention.** ``p`` acts on a vector by sending entry ``i`` to position ``p[i]``::

    x_new[..., p] = x        i.e.   x_new = x[..., inverse(p)]

Products compose like functions: ``compose(h, g)[i] = h[g[i]]``, so acting by ``g`` and then by ``h``
equals acting by ``compose(h, g)`` (written ``h * g``). With this convention ``p`` is the matrix
``P`` with ``P[p[i], i] = 1`` and ``act(p, x) = P @ x``.

>>> import numpy as np
>>> p = np.array([1, 2, 0])          # 0 -> 1, 1 -> 2, 2 -> 0
>>> act(p, np.array([10, 20, 30]))   # entry 0 (10) lands at position 1
array([30, 10, 20])
>>> g, h = np.array([1, 0, 2]), np.array([0, 2, 1])
>>> x = np.array([10, 20, 30])
>>> bool((act(h, act(g, x)) == act(compose(h, g), x)).all())
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import torch

Tensorish = TypeVar("Tensorish", np.ndarray, torch.Tensor)

__all__ = [
    "act",
    "as_permutation",
    "as_permutations",
    "compose",
    "identity",
    "inverse",
    "is_permutation",
    "permutation_matrix",
]


def _to_numpy(p: Any) -> np.ndarray:
    if isinstance(p, torch.Tensor):
        p = p.detach().cpu().numpy()
    return np.asarray(p)


def is_permutation(p: Any) -> bool:
    """Whether ``p`` is a 1-D integer sequence holding each of ``0..len(p)-1`` exactly once."""
    arr = _to_numpy(p)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        return False
    return bool(np.array_equal(np.sort(arr), np.arange(arr.size)))


def as_permutation(p: Any, name: str = "permutation") -> np.ndarray:
    """Validate ``p`` and return it as an ``int64`` array of shape ``(n,)``.

    Raises
    ------
    ValueError
        naming ``name`` when ``p`` is not a permutation of ``0..n-1``.
    """
    arr = _to_numpy(p)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of indices, got an array of shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if not np.array_equal(np.sort(arr), np.arange(arr.size)):
        seen = np.bincount(arr[(arr >= 0) & (arr < arr.size)], minlength=arr.size)
        bad = [int(v) for v in arr if v < 0 or v >= arr.size][:3]
        if bad:
            detail = f"entries {bad} are outside 0..{arr.size - 1}"
        else:
            detail = f"index {int(np.argmax(seen > 1))} appears {int(seen.max())} times"
        raise ValueError(f"{name} is not a permutation of 0..{arr.size - 1}: {detail}")
    return arr


def as_permutations(perms: Any, name: str = "perms", size: int | None = None) -> np.ndarray:
    """Validate a stack of ``k`` permutations and return an ``int64`` array of shape ``(k, n)``.

    ``perms`` may be a ``(k, n)`` array or tensor, a list of ``k`` sequences, or a single 1-D
    permutation (read as ``k = 1``). ``size`` fixes ``n`` when ``k = 0``.
    """
    if isinstance(perms, (np.ndarray, torch.Tensor)):
        arr = _to_numpy(perms)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ValueError(f"{name} must be a (k, n) array of k permutations, got shape {arr.shape}")
        rows: Sequence[Any] = list(arr)
        size = arr.shape[1] if size is None and arr.shape[0] == 0 else size
    else:
        rows = list(perms)
        if rows and np.ndim(rows[0]) == 0:
            rows = [rows]
    lengths = {len(_to_numpy(r)) for r in rows}
    if len(lengths) > 1:
        raise ValueError(f"{name} has permutations of different lengths {sorted(lengths)}")
    n = lengths.pop() if lengths else size
    if n is None:
        raise ValueError(f"{name} is empty: give `size` so the number of indices is known")
    if size is not None and n != size:
        raise ValueError(f"{name} must permute {size} indices, got permutations of length {n}")
    out = np.empty((len(rows), n), dtype=np.int64)
    for j, row in enumerate(rows):
        out[j] = as_permutation(row, name=f"{name}[{j}]")
    return out


def identity(n: int) -> np.ndarray:
    """The identity permutation of ``n`` indices, shape ``(n,)``."""
    return np.arange(n, dtype=np.int64)


def compose(h: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The product ``h * g``: act by ``g`` first, then by ``h``. Shape ``(..., n)``.

    Works on stacks: ``h`` and ``g`` broadcast over leading dimensions.
    """
    if h.ndim == 1 and g.ndim == 1:
        return h[g]
    h, g = np.broadcast_arrays(h, g)
    return np.take_along_axis(h, g, axis=-1)


def inverse(p: np.ndarray) -> np.ndarray:
    """The inverse permutation(s) of ``p`` of shape ``(..., n)``."""
    inv = np.empty_like(p)
    np.put_along_axis(inv, p, np.broadcast_to(np.arange(p.shape[-1]), p.shape), axis=-1)
    return inv


def act(p: Any, x: Tensorish, dim: int = -1) -> Tensorish:
    """Act by the permutation ``p`` on axis ``dim`` of ``x``: ``x_new`` with ``x_new[p] = x`` along ``dim``.

    ``x`` may be a numpy array or a torch tensor; the result has the same type, shape and dtype.
    """
    inv = inverse(_to_numpy(p).astype(np.int64))
    if isinstance(x, torch.Tensor):
        return x.index_select(dim, torch.as_tensor(inv, device=x.device))
    return np.take(x, inv, axis=dim)


def permutation_matrix(p: Any, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The matrix ``P`` of shape ``(n, n)`` with ``P @ x == act(p, x)``, i.e. ``P[p[i], i] = 1``."""
    arr = _to_numpy(p).astype(np.int64)
    n = arr.size
    mat = torch.zeros(n, n, dtype=dtype)
    mat[torch.as_tensor(arr), torch.arange(n)] = 1
    return mat
