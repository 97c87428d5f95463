"""Activation functions and the properties Theorem 1 asks about: f(0), odd, semilinear (positively
homogeneous), b-multiplicative, linear, affine.

The standard torch activations have their properties in `TABLE`; any other callable is probed
numerically in float64 (`probe`). A property is read as true below `EXACT` relative error, false above
`BROKEN`, and *inconclusive* in between, which the verdict then says.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from eqlab._arguments import function, string

__all__ = ["BROKEN", "EXACT", "TABLE", "ActivationInfo", "as_activation", "probe"]

EXACT = 1e-12
BROKEN = 1e-6

Fn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ActivationInfo:
    """What is known of an activation. ``None`` in a flag means the numerical probe was inconclusive."""

    name: str
    fn: Fn
    zero: float
    odd: bool | None
    semilinear: bool | None
    linear: bool | None
    affine: bool | None
    kind: str
    inconclusive: list[str] = field(default_factory=list)

    def multiplicative(self, b: float) -> bool | None:
        """Whether ``f(b^n x) = b^n f(x)``: semilinear functions are, for every ``b``; otherwise probed."""
        if self.semilinear:
            return True
        return _flag(_multiplicative_error(self.fn, b))


def _xabs(x: torch.Tensor) -> torch.Tensor:
    return x * x.abs()


def _entry(
    name: str, fn: Fn, zero: float, odd: bool, semilinear: bool, linear: bool, kind: str
) -> ActivationInfo:
    return ActivationInfo(name, fn, zero, odd, semilinear, linear, linear, kind)


TABLE: dict[str, ActivationInfo] = {
    info.name: info
    for info in (
        _entry("relu", torch.relu, 0.0, False, True, False, "semilinear"),
        _entry("leaky_relu", nn.functional.leaky_relu, 0.0, False, True, False, "semilinear"),
        _entry(
            "prelu",
            lambda x: nn.functional.prelu(x, torch.tensor([0.25], dtype=x.dtype)),
            0.0,
            False,
            True,
            False,
            "semilinear",
        ),
        _entry("elu", nn.functional.elu, 0.0, False, False, False, "continuous, f(0) = 0"),
        _entry("gelu", nn.functional.gelu, 0.0, False, False, False, "continuous, f(0) = 0"),
        _entry("silu", nn.functional.silu, 0.0, False, False, False, "continuous, f(0) = 0"),
        _entry("sigmoid", torch.sigmoid, 0.5, False, False, False, "continuous, f(0) != 0"),
        _entry(
            "softplus", nn.functional.softplus, math.log(2.0), False, False, False, "continuous, f(0) != 0"
        ),
        _entry("tanh", torch.tanh, 0.0, True, False, False, "odd"),
        _entry("sin", torch.sin, 0.0, True, False, False, "odd"),
        _entry("xabs", _xabs, 0.0, True, False, False, "odd (x|x|, 2-homogeneous)"),
        _entry("identity", lambda x: x, 0.0, True, True, True, "linear"),
    )
}
"""The standard activations by name, with their classes."""


def _probe_points() -> torch.Tensor:
    """Points near zero, where the properties are read: a grid on [-5, 5], magnitudes 1e-3 to 1e3, noise."""
    grid = torch.linspace(-5.0, 5.0, 201, dtype=torch.float64)
    logs = torch.logspace(-3, 3, 25, dtype=torch.float64)
    noise = torch.randn(200, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    return torch.cat([grid, logs, -logs, noise])


def _relative(diff: torch.Tensor, scale: torch.Tensor) -> float:
    return float(diff.abs().max() / scale.abs().max().clamp_min(1.0))


def _wide_points() -> torch.Tensor:
    """Magnitudes from 1e3 to 1e250 of both signs: a clamp or threshold far from zero shows here."""
    logs = torch.logspace(3, 250, 60, dtype=torch.float64)
    return torch.cat([logs, -logs])


def _pointwise(lhs: torch.Tensor, rhs: torch.Tensor) -> float:
    """The largest relative gap between ``lhs`` and ``rhs`` point by point: equal values (the same
    infinity included) and NaN on both sides count 0, a non-finite value on one side only counts inf."""
    same = (lhs == rhs) | (torch.isnan(lhs) & torch.isnan(rhs))
    finite = torch.isfinite(lhs) & torch.isfinite(rhs)
    scale = torch.maximum(lhs.abs(), rhs.abs()).clamp_min(1e-300)
    gaps = torch.where(finite, (lhs - rhs).abs() / scale, torch.full_like(lhs, math.inf))
    gaps = torch.where(same, torch.zeros_like(gaps), gaps)
    return float(gaps.max()) if gaps.numel() else 0.0


def _wide_flag(core: bool | None, error: float) -> bool | None:
    """A property read near zero (``core``), checked again far from it: broken there is False, a doubt
    there makes a True undecided."""
    if error >= BROKEN:
        return False
    if core is True and error > EXACT:
        return None
    return core


def _multiplicative_error(fn: Fn, b: float) -> float:
    x = _probe_points()
    fx = fn(x)
    wide = _wide_points()
    fw = fn(wide)
    return max(
        _relative(fn(b * x) - b * fx, b * fx),
        _relative(fn(x / b) - fx / b, fx),
        _pointwise(fn(b * wide), b * fw),
        _pointwise(fn(wide / b), fw / b),
    )


def _flag(error: float) -> bool | None:
    if error <= EXACT:
        return True
    if error >= BROKEN:
        return False
    return None


def probe(fn: Fn, name: str = "callable") -> ActivationInfo:
    """Numerical float64 probe of an arbitrary entry-wise activation's properties.

    Raises
    ------
    TypeError
        when ``fn`` is not an entry-wise function of a tensor, or ``name`` is not a string.
    """
    function(fn, "fn")
    string(name, "name")
    _require_entrywise(fn, name, "fn")
    x = _probe_points()
    y = x.flip(0) * 0.73 + 0.11
    fx = fn(x)
    zero = float(fn(torch.zeros(1, dtype=torch.float64))[0])
    wide = _wide_points()
    fw = fn(wide)
    odd = _wide_flag(_flag(_relative(fn(-x) + fx, fx)), _pointwise(fn(-wide), -fw))
    semilinear = _wide_flag(
        _flag(max(_relative(fn(t * x) - t * fx, t * fx) for t in (0.3, 1.7, 4.1))),
        max(_pointwise(fn(t * wide), t * fw) for t in (0.3, 1.7, 4.1)),
    )
    shifted: Fn = lambda v: fn(v) - zero  # noqa: E731
    additive = _relative(shifted(x + y) - shifted(x) - shifted(y), fx - zero)
    affine = _wide_flag(
        _flag(max(additive, max(_relative(shifted(t * x) - t * shifted(x), fx - zero) for t in (-1.3, 2.2)))),
        max(_pointwise(shifted(t * wide), t * (fw - zero)) for t in (-1.3, 2.2)),
    )
    linear = affine if affine is not True else _flag(abs(zero) / max(1.0, float(fx.abs().max())))
    flags = {"odd": odd, "semilinear": semilinear, "affine": affine, "linear": linear}
    inconclusive = [k for k, v in flags.items() if v is None]
    kind = (
        "linear"
        if linear
        else "affine"
        if affine
        else "semilinear"
        if semilinear
        else "odd"
        if odd
        else "continuous"
    )
    return ActivationInfo(name, fn, zero, odd, semilinear, linear, affine, kind, inconclusive)


_MODULES: dict[type[nn.Module], str] = {
    nn.ReLU: "relu",
    nn.ELU: "elu",
    nn.GELU: "gelu",
    nn.SiLU: "silu",
    nn.Sigmoid: "sigmoid",
    nn.Softplus: "softplus",
    nn.Tanh: "tanh",
    nn.Identity: "identity",
}


def _require_entrywise(fn: Fn, name: str, argument: str = "activation") -> None:
    """Raise `TypeError` unless ``fn`` maps a tensor to one of the same shape, entry by entry: applied to a
    ``(6, 5)`` batch it must agree with itself applied to the entries one at a time (a column)."""
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2
    try:
        with torch.no_grad():
            whole = fn(x)
            single = fn(x.reshape(-1, 1))
    except Exception as exc:  # any failure on a plain tensor means it is not an entry-wise function
        raise TypeError(
            f"{argument} must be an entry-wise function of a tensor; {name} failed on a (6, 5) float64 "
            f"tensor: {type(exc).__name__}: {exc}"
        ) from exc
    if (
        not isinstance(whole, torch.Tensor)
        or not isinstance(single, torch.Tensor)
        or whole.shape != x.shape
        or single.numel() != x.numel()
    ):
        got = tuple(whole.shape) if isinstance(whole, torch.Tensor) else type(whole).__name__
        raise TypeError(
            f"{argument} must map a tensor to one of the same shape, entry by entry; "
            f"{name} maps (6, 5) to {got}"
        )
    if whole.dtype != x.dtype:
        raise TypeError(
            f"{argument} must map float64 tensors to float64 tensors, entry by entry; {name} returns "
            f"{whole.dtype}"
        )
    alone = single.reshape(x.shape)
    same = (whole == alone) | (torch.isnan(whole) & torch.isnan(alone))
    gap = torch.where(same, torch.zeros_like(whole), (whole - alone).abs().nan_to_num(nan=math.inf))
    if not bool((gap <= 1e-12 * whole.abs().nan_to_num(nan=0.0).clamp_min(1.0)).all()):
        raise TypeError(
            f"{argument} must be entry-wise; {name} applied to a (6, 5) batch differs from {name} applied "
            f"to its entries one at a time by up to {float(gap.max()):.3g}"
        )


def as_activation(activation: Any) -> ActivationInfo:
    """An `ActivationInfo` from a name in `TABLE`, a torch module (copied to float64) or a callable.

    Raises
    ------
    TypeError
        when a module or callable is not an entry-wise function (``cumsum``, a channel-wise ``PReLU``).
    """
    if isinstance(activation, str):
        key = activation.lower().replace("-", "_")
        if key not in TABLE:
            raise ValueError(
                f"unknown activation {activation!r}; known: {', '.join(TABLE)} (or pass a callable)"
            )
        return TABLE[key]
    if isinstance(activation, nn.Module):
        for kind, name in _MODULES.items():
            if type(activation) is kind and repr(activation) == repr(kind()):
                return TABLE[name]  # only with the default hyperparameters: ELU(alpha=0) is probed
        module = copy.deepcopy(activation).double().eval()
        _require_entrywise(module, type(activation).__name__)
        return probe(module, name=type(activation).__name__)
    if callable(activation):
        for info in TABLE.values():
            if activation is info.fn:
                return info
        name = getattr(activation, "__name__", "callable")
        _require_entrywise(activation, name)
        return probe(activation, name=name)
    raise TypeError(
        f"activation must be a name, a torch module or a callable, got {type(activation).__name__}"
    )
