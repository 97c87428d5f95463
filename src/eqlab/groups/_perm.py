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

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import numpy as np
import torch

from eqlab._arguments import describe, integer, string

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


def _to_numpy(p: Any, name: str) -> np.ndarray:
    """``p`` as a numpy array: a tensor, an array, or a (rectangular) list, tuple or range of them."""
    if isinstance(p, torch.Tensor):
        return p.detach().cpu().numpy()
    if not isinstance(p, (np.ndarray, list, tuple, range)):
        raise TypeError(
            f"{name} must be a sequence of integer indices (a list, tuple, array or tensor), "
            f"got {describe(p)}"
        )
    try:
        return np.asarray(p)
    except ValueError:
        raise ValueError(
            f"{name} must be a rectangular sequence of indices, got nested sequences of different lengths "
            f"{describe(p)}"
        ) from None


def _integral(arr: np.ndarray, name: str) -> np.ndarray:
    """``arr`` as ``int64`` when it holds integers (integral floats included), else a ``ValueError``."""
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _not_a_permutation(arr: np.ndarray, name: str) -> ValueError:
    """The error for a 1-D integer array that is not a permutation of ``0..n-1``."""
    seen = np.bincount(arr[(arr >= 0) & (arr < arr.size)], minlength=arr.size)
    bad = [int(v) for v in arr if v < 0 or v >= arr.size][:3]
    if bad:
        detail = f"entries {bad} are outside 0..{arr.size - 1}"
    else:
        detail = f"index {int(np.argmax(seen > 1))} appears {int(seen.max())} times"
    return ValueError(f"{name} is not a permutation of 0..{arr.size - 1}: {detail}")


def is_permutation(p: Any) -> bool:
    """Whether ``p`` is a 1-D integer sequence holding each of ``0..len(p)-1`` exactly once.

    Raises
    ------
    TypeError
        when ``p`` is not a sequence at all (``None``, a string, a dict, a number).
    ValueError
        when ``p`` holds nested sequences of different lengths.
    """
    arr = _to_numpy(p, "p")
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        return False
    return bool(np.array_equal(np.sort(arr), np.arange(arr.size)))


def as_permutation(p: Any, name: str = "permutation") -> np.ndarray:
    """Validate ``p`` and return it as an ``int64`` array of shape ``(n,)``.

    Raises
    ------
    ValueError
        naming ``name`` when ``p`` is not a permutation of ``0..n-1``.
    TypeError
        naming ``name`` when ``p`` is not a sequence of indices at all.
    """
    string(name, "name")
    arr = _to_numpy(p, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of indices, got an array of shape {arr.shape}")
    arr = _integral(arr, name)
    if not np.array_equal(np.sort(arr), np.arange(arr.size)):
        raise _not_a_permutation(arr, name)
    return arr


def as_permutations(perms: Any, name: str = "perms", size: int | None = None) -> np.ndarray:
    """Validate a stack of ``k`` permutations and return an ``int64`` array of shape ``(k, n)``.

    ``perms`` may be a ``(k, n)`` array or tensor, a list of ``k`` sequences, or a single 1-D
    permutation (read as ``k = 1``). ``size`` fixes ``n`` when ``k = 0``.
    """
    string(name, "name")
    if size is not None:
        size = integer(size, "size", minimum=0)
    if isinstance(perms, (np.ndarray, torch.Tensor)):
        arr = _to_numpy(perms, name)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ValueError(f"{name} must be a (k, n) array of k permutations, got shape {arr.shape}")
        rows: list[np.ndarray] = list(arr)
        size = arr.shape[1] if size is None and arr.shape[0] == 0 else size
    else:
        if isinstance(perms, (str, bytes, Mapping)) or not isinstance(perms, Iterable):
            raise TypeError(
                f"{name} must be a (k, n) array, tensor or list of permutations, got {describe(perms)}"
            )
        items = list(perms)
        if items and not isinstance(items[0], (np.ndarray, torch.Tensor, list, tuple, range)):
            items = [items]  # one permutation given as a flat list of indices
        rows = [_to_numpy(row, f"{name}[{j}]") for j, row in enumerate(items)]
        for j, row in enumerate(rows):
            if row.ndim != 1:
                raise ValueError(
                    f"{name}[{j}] must be a 1-D sequence of indices, got an array of shape {row.shape}"
                )
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise ValueError(f"{name} has permutations of different lengths {sorted(lengths)}")
    n = lengths.pop() if lengths else size
    if n is None:
        raise ValueError(f"{name} is empty: give `size` so the number of indices is known")
    if size is not None and n != size:
        raise ValueError(f"{name} must permute size={size} indices, got permutations of length {n}")
    out = np.empty((len(rows), n), dtype=np.int64)
    for j, row in enumerate(rows):
        out[j] = as_permutation(row, name=f"{name}[{j}]")
    return out


def _stack(p: Any, name: str) -> np.ndarray:
    """``p`` validated as one permutation ``(n,)`` or a stack of them ``(..., n)``, as ``int64``."""
    arr = _to_numpy(p, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be a permutation (n,) or a stack of them (..., n), got {describe(p)}")
    arr = _integral(arr, name)
    n = arr.shape[-1]
    flat = arr.reshape(-1, n)
    good = np.sort(flat, axis=1) == np.arange(n)
    if not good.all():
        j = int(np.argmin(good.all(axis=1)))
        where = ", ".join(str(int(i)) for i in np.unravel_index(j, arr.shape[:-1]))
        row_name = name if arr.ndim == 1 else f"{name}[{where}]"
        raise _not_a_permutation(flat[j], row_name)
    return arr


def identity(n: int) -> np.ndarray:
    """The identity permutation of ``n`` indices, shape ``(n,)``."""
    return np.arange(integer(n, "n", minimum=0), dtype=np.int64)


def compose(h: Any, g: Any) -> np.ndarray:
    """The product ``h * g``: act by ``g`` first, then by ``h``. Shape ``(..., n)``.

    Works on stacks: ``h`` and ``g`` broadcast over leading dimensions.
    """
    h, g = _stack(h, "h"), _stack(g, "g")
    if h.shape[-1] != g.shape[-1]:
        raise ValueError(
            f"h and g must permute the same number of indices, got {h.shape[-1]} (h) and {g.shape[-1]} (g)"
        )
    if h.ndim == 1 and g.ndim == 1:
        return h[g]
    try:
        h, g = np.broadcast_arrays(h, g)
    except ValueError:
        raise ValueError(
            f"h and g must be stacks whose leading dimensions broadcast, got shapes {h.shape} and {g.shape}"
        ) from None
    return np.take_along_axis(h, g, axis=-1)


def _inverse(p: np.ndarray) -> np.ndarray:
    inv = np.empty_like(p)
    np.put_along_axis(inv, p, np.broadcast_to(np.arange(p.shape[-1]), p.shape), axis=-1)
    return inv


def inverse(p: Any) -> np.ndarray:
    """The inverse permutation(s) of ``p`` of shape ``(..., n)``."""
    return _inverse(_stack(p, "p"))


def act(p: Any, x: Tensorish, dim: int = -1) -> Tensorish:
    """Act by the permutation ``p`` on axis ``dim`` of ``x``: ``x_new`` with ``x_new[p] = x`` along ``dim``.

    ``x`` may be a numpy array or a torch tensor; the result has the same type, shape and dtype.
    """
    perm = as_permutation(p, name="p")
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        raise TypeError(f"x must be a numpy array or a torch tensor, got {describe(x)}")
    axis = integer(dim, "dim")
    if x.ndim == 0:
        raise ValueError(f"x must have at least one dimension to permute, got {describe(x)}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(
            f"dim must be in {-x.ndim}..{x.ndim - 1} for x of shape {tuple(x.shape)}, got {axis}"
        )
    if x.shape[axis] != perm.size:
        raise ValueError(
            f"p must permute the {x.shape[axis]} entries of x along dim {axis}, got a permutation of "
            f"{perm.size} indices"
        )
    inv = _inverse(perm)
    if isinstance(x, torch.Tensor):
        return x.index_select(axis, torch.as_tensor(inv, device=x.device))
    return np.take(x, inv, axis=axis)


def permutation_matrix(p: Any, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The matrix ``P`` of shape ``(n, n)`` with ``P @ x == act(p, x)``, i.e. ``P[p[i], i] = 1``."""
    arr = as_permutation(p, name="p")
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {describe(dtype)}")
    n = arr.size
    mat = torch.zeros(n, n, dtype=dtype)
    mat[torch.as_tensor(arr), torch.arange(n)] = 1
    return mat
