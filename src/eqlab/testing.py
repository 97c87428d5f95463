"""Public helpers to measure and assert equivariance: ``f(g . x) == g . f(x)``.

An *action* is either a permutation (1-D integer array, tensor or list, acting on the last axis in
eqlab's convention ``x_new[p] = x``), a stack of ``k`` permutations ``(k, N)`` (``k`` group elements),
any callable on tensors (a rotation with a roll of the group axis, a flip, a matrix representation), or
a list of callables. Input and output actions are paired element by element.

>>> import torch
>>> from eqlab.groups import symmetric
>>> from eqlab.sharing import EquivariantLinear
>>> s5 = symmetric(5)
>>> layer = EquivariantLinear(s5.action(), s5.action())
>>> perms = s5.elements()[:10]
>>> equivariance_error(layer, torch.randn(4, 5), perms, perms) < 1e-12
True
>>> assert_equivariant(layer, torch.randn(4, 5), perms, perms)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from eqlab.groups.perm import act, as_permutations

__all__ = ["TOLERANCES", "assert_equivariant", "equivariance_error", "permutation_action"]

TOLERANCES: dict[torch.dtype, float] = {
    torch.float64: 1e-10,
    torch.float32: 1e-4,
    torch.bfloat16: 3e-2,
    torch.float16: 1e-2,
}
"""Relative tolerance of `assert_equivariant` per dtype."""

TensorMap = Callable[[torch.Tensor], torch.Tensor]


def permutation_action(perm: Any, dim: int = -1) -> TensorMap:
    """The action of one permutation on axis ``dim`` of a tensor, as a callable."""
    (p,) = as_permutations(perm, name="perm")[:1]
    return lambda x: act(p, x, dim=dim)


def _as_maps(action: Any, name: str) -> list[TensorMap]:
    if callable(action):
        return [action]
    if isinstance(action, Sequence) and action and all(callable(a) for a in action):
        return list(action)
    perms = as_permutations(action, name=name)
    return [permutation_action(p) for p in perms]


def _in_dtype(f: Callable[..., Any], dtype: torch.dtype) -> Callable[..., Any]:
    if isinstance(f, nn.Module):
        return copy.deepcopy(f).to(dtype)
    return f


def equivariance_error(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    in_action: Any,
    out_action: Any,
    *,
    dtype: torch.dtype = torch.float64,
) -> float:
    """The largest relative equivariance error ``|f(g x) - g f(x)| / |g f(x)|`` over the given elements.

    Parameters
    ----------
    f
        A function or module; a module is copied and cast to ``dtype`` (the original is untouched).
    x
        A batch of inputs; floating inputs are cast to ``dtype``.
    in_action, out_action
        Actions on inputs and on outputs (see the module docstring), with the same number of elements.
    dtype
        The precision of the measurement (float64 by default).

    Returns
    -------
    float
        ``max_g ||f(g x) - g f(x)|| / max(||g f(x)||, tiny)``, Frobenius norms over the whole batch.
    """
    ins, outs = _as_maps(in_action, "in_action"), _as_maps(out_action, "out_action")
    if len(ins) != len(outs):
        raise ValueError(f"in_action has {len(ins)} elements but out_action has {len(outs)}")
    f = _in_dtype(f, dtype)
    if x.is_floating_point():
        x = x.to(dtype)
    worst = 0.0
    with torch.no_grad():
        fx = f(x)
        for g_in, g_out in zip(ins, outs, strict=True):
            expected = g_out(fx)
            diff = torch.linalg.vector_norm((f(g_in(x)) - expected).to(torch.float64))
            scale = torch.linalg.vector_norm(expected.to(torch.float64)).clamp_min(np.finfo(np.float64).tiny)
            worst = max(worst, float(diff / scale))
    return worst


def assert_equivariant(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    in_action: Any,
    out_action: Any,
    *,
    dtype: torch.dtype = torch.float64,
    rtol: float | None = None,
) -> None:
    """Raise `AssertionError` when `equivariance_error` exceeds ``rtol`` (default: `TOLERANCES[dtype]`)."""
    __tracebackhide__ = True
    tol = TOLERANCES.get(dtype, 1e-4) if rtol is None else rtol
    error = equivariance_error(f, x, in_action, out_action, dtype=dtype)
    if not error <= tol:
        raise AssertionError(
            f"not equivariant: relative error {error:.3e} exceeds {tol:.1e} "
            f"({dtype}, input shape {tuple(x.shape)})"
        )
