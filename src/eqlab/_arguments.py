"""Argument validation shared by every public entry point.

Each function returns the value in its canonical form or raises ``ValueError`` / ``TypeError`` with one
message shape, ``"<name> must be <expected>, got <received>"``, so every error names the argument, what
was expected and what was received.

>>> integer(3, "kernel_size", minimum=1)
3
>>> integer(True, "kernel_size", minimum=1)
Traceback (most recent call last):
...
TypeError: kernel_size must be an integer >= 1, got True (bool)
>>> real(float("nan"), "alpha")
Traceback (most recent call last):
...
ValueError: alpha must be a finite number, got nan (float)
"""

from __future__ import annotations

import enum
import math
import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "choice",
    "describe",
    "flag",
    "integer",
    "integer_pair",
    "module",
    "real",
    "tensor",
]


def describe(value: Any) -> str:
    """A short description of what was received: a clipped repr and the type, or a tensor's shape."""
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _bound_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" in {minimum}..{maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def _is_integer(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, torch.Tensor):
        return value.dim() == 0 and not value.is_floating_point() and value.dtype != torch.bool
    return isinstance(value, (numbers.Integral, np.integer))


def integer(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int``: Python and numpy integers pass; bools, floats and strings do not."""
    expected = f"an integer{_bound_text(minimum, maximum)}"
    if not _is_integer(value):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    out = int(value)
    if (minimum is not None and out < minimum) or (maximum is not None and out > maximum):
        raise ValueError(f"{name} must be {expected}, got {out}")
    return out


def integer_pair(value: Any, name: str, *, minimum: int | None = None) -> tuple[int, int]:
    """An integer or a pair of integers (height, width) as a pair."""
    if _is_integer(value):
        one = integer(value, name, minimum=minimum)
        return (one, one)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(
            f"{name} must be an integer{_bound_text(minimum, None)} or a pair of them, got {describe(value)}"
        )
    first = integer(value[0], f"{name}[0]", minimum=minimum)
    second = integer(value[1], f"{name}[1]", minimum=minimum)
    return (first, second)


def real(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
    finite: bool = True,
) -> float:
    """``value`` as a finite ``float`` (``finite=False`` lets infinities through, never NaN)."""
    if isinstance(value, torch.Tensor) and value.dim() == 0 and value.dtype != torch.bool:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    try:
        out = float(value)
    except OverflowError:  # an integer beyond the float range
        raise ValueError(
            f"{name} must be a finite number, got an integer of {len(str(value))} digits"
        ) from None
    if math.isnan(out) or (finite and math.isinf(out)):
        raise ValueError(f"{name} must be a finite number, got {describe(value)}")
    if positive and not out > 0:
        raise ValueError(f"{name} must be positive, got {out}")
    if (minimum is not None and out < minimum) or (maximum is not None and out > maximum):
        raise ValueError(f"{name} must be a number{_bound_text(minimum, maximum)}, got {out}")
    return out


def flag(value: Any, name: str) -> bool:
    """``value`` as a ``bool``: only ``True`` and ``False`` (numpy's too) pass."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return bool(value)


def choice(value: Any, name: str, choices: Sequence[str] | type[enum.Enum]) -> str:
    """``value`` as one of the strings ``choices``, or of the values of a str enum (an `Option`)."""
    if isinstance(choices, enum.EnumMeta):
        choices = [str(member.value) for member in choices]
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, choices))}, got {describe(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def module(value: Any, name: str) -> torch.nn.Module:
    """``value`` when it is a ``torch.nn.Module``."""
    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {describe(value)}")
    return value


def tensor(
    value: Any,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    min_ndim: int | None = None,
    floating: bool = False,
    finite: bool = False,
    nonempty: bool = True,
) -> torch.Tensor:
    """``value`` when it is a tensor of the expected rank, kind and content.

    Parameters
    ----------
    ndim, min_ndim
        The allowed numbers of dimensions, or the least number.
    floating
        Require a floating dtype.
    finite
        Require every entry to be finite.
    nonempty
        Require at least one entry.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {describe(value)}")
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim) if ndim is not None else None
    if allowed is not None and value.dim() not in allowed:
        ranks = " or ".join(str(a) for a in allowed)
        raise ValueError(f"{name} must have {ranks} dimensions, got {describe(value)}")
    if min_ndim is not None and value.dim() < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got {describe(value)}")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {describe(value)}")
    if nonempty and value.numel() == 0:
        raise ValueError(f"{name} must not be empty, got {describe(value)}")
    if finite and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} must hold only finite values, got {describe(value)} with NaN or Inf")
    return value


def string(value: Any, name: str, *, empty: bool = False) -> str:
    """``value`` when it is a ``str`` (non-empty unless ``empty``)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {describe(value)}")
    if not empty and not value:
        raise ValueError(f"{name} must be a non-empty string, got ''")
    return value


def path(value: Any, name: str) -> Path:
    """``value`` as a `pathlib.Path`: a non-empty ``str`` or an ``os.PathLike`` of one."""
    text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a path (a str or os.PathLike), got {describe(value)}")
    if not text:
        raise ValueError(f"{name} must be a non-empty path, got ''")
    return Path(text)


def generator(value: Any, name: str) -> torch.Generator:
    """``value`` when it is a `torch.Generator`."""
    if not isinstance(value, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator, got {describe(value)}")
    return value


def function(value: Any, name: str) -> Any:
    """``value`` when it is callable and not a class (a function, a bound method, a module instance)."""
    if not callable(value) or isinstance(value, type):
        raise TypeError(f"{name} must be a function, got {describe(value)}")
    return value


def dataset(value: Any, name: str) -> int:
    """The length of ``value``, a map-style dataset of ``(x, y)`` pairs (``TensorDataset(x, y)``) with at
    least one example; a bare tensor is refused (its rows are not pairs)."""
    expected = "a Dataset of (x, y) pairs, e.g. TensorDataset(x, y)"
    if isinstance(value, torch.Tensor) or not (hasattr(value, "__len__") and hasattr(value, "__getitem__")):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    size = len(value)
    if size == 0:
        raise ValueError(f"{name} must hold at least one example, got an empty {type(value).__name__}")
    first = value[0]
    if not isinstance(first, (tuple, list)) or len(first) != 2:
        raise ValueError(f"{name} must be {expected}; its first example is {describe(first)}")
    return size
