"""Measure and assert equivariance, ``f(g x) == g f(x)``, the one way every test and check of eqlab does.

**The idea.** One relative error, normalised so that neither a constant offset nor a saturated output
can hide a broken symmetry, measured in float64 over the group elements given.

**Public names**

- `equivariance_error(f, x, in_action, out_action)`: the largest relative error over the elements.
- `assert_equivariant(f, x, in_action, out_action)`: raise `AssertionError` when that error exceeds the
  tolerance of the dtype (float64: 1e-10; float32: 1e-4).
- `relative_error(actual, expected)`: the normalised error of two tensors of the same shape.

**Actions.** An action is a permutation (1-D integer array, tensor or list, acting on the last axis in
eqlab's convention ``x_new[p] = x``, defined in `eqlab.groups`), a stack of ``k`` permutations
``(k, N)`` (``k`` group elements), any callable on tensors (a rotation with a roll of the group axis, a
flip, a matrix representation), or a list of callables. Input and output actions are paired element by
element.

**How the error is normalised.** The error of one element is ``|f(g x) - g f(x)|`` divided by the size of
the *input-dependent part* of ``g f(x)``: with a batch of two or more inputs (``x`` of rank >= 2, batch
first), the outputs minus their mean over the batch, but at least a thousandth (`SATURATION_FLOOR`) of
the whole output. A large constant offset in the output therefore cannot hide an error (it would need
to be a thousand times the error's size to bring it below 1e-3). With a single input it is the norm of
``g f(x)`` itself. A NaN or an infinity in either output is an infinite error. Modules are copied and
measured in float64 by default; the original is never modified.

>>> import torch
>>> from eqlab.groups import symmetric
>>> from eqlab.nn import EquivariantLinear
>>> s5 = symmetric(5)
>>> layer = EquivariantLinear(s5.action(), s5.action())
>>> perms = s5.elements()[:10]
>>> equivariance_error(layer, torch.randn(4, 5), perms, perms) < 1e-12
True
>>> assert_equivariant(layer, torch.randn(4, 5), perms, perms)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from eqlab._arguments import describe, flag, integer, real, tensor
from eqlab.groups._perm import act, as_permutations

__all__ = ["assert_equivariant", "equivariance_error", "relative_error"]

TOLERANCES: dict[torch.dtype, float] = {
    torch.float64: 1e-10,
    torch.float32: 1e-4,
    torch.bfloat16: 3e-2,
    torch.float16: 1e-2,
}
"""Relative tolerance of `assert_equivariant` per dtype."""

TensorMap = Callable[[torch.Tensor], torch.Tensor]

_TINY = float(np.finfo(np.float64).tiny)

SATURATION_FLOOR = 1e-3
"""The input-dependent part of an output counts as at least this fraction of the whole output: an output
that saturates (tanh of large inputs) barely varies over a batch, and its rounding would otherwise read
as an error."""


def relative_error(actual: torch.Tensor, expected: torch.Tensor, *, batched: bool = True) -> float:
    """``|actual - expected|`` over the size of the input-dependent part of ``expected`` (float64).

    Parameters
    ----------
    actual, expected
        Tensors of the same shape. With ``batched`` and a leading batch of two or more, the scale is
        ``|expected - mean over the batch|``, but at least `SATURATION_FLOOR` times ``|expected|``;
        otherwise ``|expected|``.

    batched
        Whether the leading axis is a batch of inputs (so that its mean is the part of ``expected`` that
        does not depend on the input).

    Returns
    -------
    float
        The relative error; ``inf`` when either tensor holds a NaN or an infinity.

    Examples
    --------
    A constant offset of 100 does not hide an error of 0.1 in the part that varies (of norm 1); without
    the batch, the offset counts and the same error looks 200 times smaller:

    >>> import torch
    >>> expected = torch.tensor([[100.0, 101.0], [101.0, 100.0]], dtype=torch.float64)
    >>> actual = expected + torch.tensor([[0.1, 0.0], [0.0, 0.0]], dtype=torch.float64)
    >>> round(relative_error(actual, expected), 6)
    0.1
    >>> round(relative_error(actual, expected, batched=False), 4)
    0.0005
    """
    tensor(actual, "actual", nonempty=False)
    tensor(expected, "expected", nonempty=False)
    batched = flag(batched, "batched")
    if actual.shape != expected.shape:
        raise ValueError(
            f"actual and expected must have the same shape, got {tuple(actual.shape)} and "
            f"{tuple(expected.shape)}"
        )
    a, e = actual.detach().to(torch.float64), expected.detach().to(torch.float64)
    if not (bool(torch.isfinite(a).all()) and bool(torch.isfinite(e).all())):
        return math.inf
    largest = float(torch.maximum(a.abs().max(), e.abs().max())) if a.numel() else 0.0
    if largest > 0:  # scaled first, so that norms of huge values do not overflow
        a, e = a / largest, e / largest
    diff = float(torch.linalg.vector_norm(a - e))
    if diff == 0.0:
        return 0.0
    whole = float(torch.linalg.vector_norm(e))
    scale = whole
    if batched and e.dim() >= 2 and e.shape[0] >= 2:
        varying = float(torch.linalg.vector_norm(e - e.mean(dim=0, keepdim=True)))
        scale = max(varying, SATURATION_FLOOR * whole)
    return diff / max(scale, _TINY)


def permutation_action(perm: Any, dim: int = -1) -> TensorMap:
    """The action of one permutation on axis ``dim`` of a tensor, as a callable."""
    perms = as_permutations(perm, name="perm")
    if perms.shape[0] != 1:
        raise ValueError(f"perm must be one permutation, got a stack of {perms.shape[0]}")
    dim = integer(dim, "dim")
    p = perms[0]
    return lambda x: act(p, x, dim=dim)


def _as_maps(action: Any, name: str) -> list[TensorMap]:
    if callable(action):
        return [action]
    if isinstance(action, Sequence) and not isinstance(action, str) and action:
        if all(callable(a) for a in action):
            return list(action)
        if any(callable(a) for a in action):
            raise TypeError(f"{name} must be all callables or all permutations, got a mix")
    if isinstance(action, (str, bytes)) or action is None or isinstance(action, (int, float)):
        raise TypeError(
            f"{name} must be a permutation, a (k, N) stack of permutations, a callable or a list of "
            f"callables, got {describe(action)}"
        )
    perms = as_permutations(action, name=name)
    if perms.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one group element, got none")
    return [permutation_action(p) for p in perms]


def _in_dtype(f: Callable[..., Any], dtype: torch.dtype) -> Callable[..., Any]:
    """A copy of a module (or of the module behind a bound method such as ``model.forward``) in ``dtype``."""
    if isinstance(f, nn.Module):
        return copy.deepcopy(f).to(dtype)
    owner = getattr(f, "__self__", None)
    if isinstance(owner, nn.Module):
        return getattr(copy.deepcopy(owner).to(dtype), f.__name__)
    return f


def _acting(action: TensorMap, value: torch.Tensor, name: str, what: str) -> Any:
    """``action(value)``, its ValueError re-raised naming the action and what it acted on."""
    try:
        return action(value)
    except ValueError as exc:
        raise ValueError(f"{name} cannot act on {what} of shape {tuple(value.shape)}: {exc}") from None


def _output(value: Any, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{what} must be a tensor, got {describe(value)}")
    return value


def equivariance_error(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    in_action: Any,
    out_action: Any,
    *,
    dtype: torch.dtype = torch.float64,
) -> float:
    """The largest relative equivariance error ``|f(g x) - g f(x)|`` over the given elements.

    Parameters
    ----------
    f
        A function or module; a module is copied and cast to ``dtype`` (the original is untouched).
    x
        A batch of inputs ``(B, ...)``, batch first; floating inputs are cast to ``dtype``.
    in_action, out_action
        Actions on inputs and on outputs (see the module docstring), with the same number of elements.
    dtype
        The precision of the measurement (float64 by default).

    Returns
    -------
    float
        ``max_g |f(g x) - g f(x)| / |input-dependent part of g f(x)|`` (see the module docstring);
        ``inf`` when an output holds a NaN or an infinity.

    Raises
    ------
    ValueError
        when the actions are empty or of different lengths, or ``f(g x)`` and ``g f(x)`` differ in shape.
    """
    if not callable(f):
        raise TypeError(f"f must be a function or a module, got {describe(f)}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {describe(x)}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {describe(dtype)}")
    ins, outs = _as_maps(in_action, "in_action"), _as_maps(out_action, "out_action")
    if len(ins) != len(outs):
        raise ValueError(f"in_action has {len(ins)} elements but out_action has {len(outs)}")
    f = _in_dtype(f, dtype)
    if x.is_floating_point():
        x = x.to(dtype)
    worst = 0.0
    with torch.no_grad():
        fx = _output(f(x), "f(x)")
        for j, (g_in, g_out) in enumerate(zip(ins, outs, strict=True)):
            moved_x = _acting(g_in, x, f"in_action[{j}]", "x")
            expected = _output(_acting(g_out, fx, f"out_action[{j}]", "f(x)"), f"out_action[{j}](f(x))")
            moved = _output(f(moved_x), f"f(in_action[{j}](x))")
            if moved.shape != expected.shape:
                raise ValueError(
                    f"element {j}: f(g x) has shape {tuple(moved.shape)} but g f(x) has shape "
                    f"{tuple(expected.shape)}; out_action does not match f's output"
                )
            worst = max(worst, relative_error(moved, expected))
            if math.isinf(worst):
                break
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
    """Raise `AssertionError` when `equivariance_error` exceeds a relative tolerance.

    Parameters
    ----------
    f, x, in_action, out_action, dtype
        As in `equivariance_error`: a function or module, a batch of inputs ``(B, ...)``, the actions on
        inputs and outputs (see the module docstring) and the precision of the measurement.
    rtol
        The largest relative error allowed; default: by ``dtype``, 1e-10 for float64, 1e-4 for float32,
        1e-2 for float16 and 3e-2 for bfloat16 (`TOLERANCES`).

    Raises
    ------
    AssertionError
        when the error exceeds ``rtol``, with the error, the dtype and the input shape.

    Examples
    --------
    >>> import torch
    >>> assert_equivariant(torch.tanh, torch.randn(3, 4), [1, 2, 3, 0], [1, 2, 3, 0])
    """
    __tracebackhide__ = True
    tol = TOLERANCES.get(dtype, 1e-4) if rtol is None else real(rtol, "rtol", minimum=0.0)
    error = equivariance_error(f, x, in_action, out_action, dtype=dtype)
    if not error <= tol:
        raise AssertionError(
            f"not equivariant: relative error {error:.3e} exceeds {tol:.1e} "
            f"({dtype}, input shape {tuple(x.shape)})"
        )
