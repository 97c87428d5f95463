"""`check`: is a pointwise activation equivariant for a representation? Decided by Theorem 1 of Pacini
et al. (ICLR 2024), explained, and confirmed by a float64 measurement.

**The verdict is three-valued**, and never contradicts the measurement beside it:

- ``True``: the theorem admits the activation and the measured error is at most `MEASURED_TOLERANCE`;
- ``False``: the theorem rules the activation out, or the measurement found a counterexample (an error of
  at least `COUNTEREXAMPLE`, NaN and infinities included);
- ``None`` (undecided): anything else. The theorem cannot decide (a numerical probe of a property was
  inconclusive, or float64 cannot tell whether the scales are discrete or dense), or it admits the
  activation while the measurement lies between the two thresholds. The reason says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from eqlab._arguments import describe, integer, real
from eqlab.activations._classes import MatrixClass, as_matrices, classify
from eqlab.activations._functions import ActivationInfo, as_activation

__all__ = [
    "COUNTEREXAMPLE",
    "MEASURED_TOLERANCE",
    "ActivationCheck",
    "WorstCase",
    "bias_is_invariant",
    "check",
    "measure",
    "worst_case",
]

MEASURED_TOLERANCE = 1e-12
"""The largest measured float64 relative error that an ``equivariant=True`` verdict may stand beside."""
COUNTEREXAMPLE = 1e-6
"""A measured relative error from which on the inputs found are a counterexample: ``equivariant=False``."""


@dataclass(frozen=True)
class ActivationCheck:
    """The verdict on one (representation, activation) pair."""

    equivariant: bool | None
    """``True`` (the theorem admits the activation and the measured error is at most 1e-12), ``False``
    (the theorem rules it out, or the measurement found an error of at least 1e-6) or ``None``
    (undecided; `reason` says why)."""
    case: str
    """The class of the matrices, which decides the admissible activations (Theorem 1):
    ``"permutation"`` (any continuous function), ``"signed permutation"`` (odd ones),
    ``"b-monomial"`` (b-multiplicative ones), ``"non-negative monomial"`` (semilinear ones, such as
    ReLU), ``"signed b-monomial"`` (odd b-multiplicative ones), ``"signed monomial (dense)"`` and
    ``"general"`` (linear ones only), ``"unit-row-sum"`` (affine ones), or, where float64 cannot tell
    discrete scales from dense ones, ``"positive monomial (scales undecided)"`` or
    ``"signed monomial (scales undecided)"``."""
    admissible: str
    """The activations this representation admits, in words."""
    reason: str
    """One or two sentences; on failure they name the group element (generator index) and entry."""
    max_error: float
    """The measured float64 relative error of ``f(M x)`` against ``M f(x)`` on random and adversarial
    inputs (``inf`` where either side is NaN or infinite); at most 1e-12 whenever ``equivariant`` is
    True."""
    b: float | None
    """The b of the b-monomial cases."""
    activation: str
    """The activation's name and class."""
    inconclusive: bool = False
    """Whether the theorem could not decide: a numerical probe of a property was inconclusive, or the
    scales could not be told discrete or dense."""


def _inputs(n: int, seed: int = 0) -> torch.Tensor:
    """Random and adversarial inputs ``(m, n)``: normals, scaled signed basis vectors, constants."""
    gen = torch.Generator().manual_seed(seed)
    eye = torch.eye(n, dtype=torch.float64)
    parts = [torch.randn(64, n, generator=gen, dtype=torch.float64)]
    parts += [s * eye for s in (1e-3, -1e-3, 1.0, -1.0, 1e3, -1e3)]
    parts += [torch.ones(1, n, dtype=torch.float64) * s for s in (-2.0, 0.5)]
    return torch.cat(parts)


@dataclass(frozen=True)
class WorstCase:
    """The input and matrix where ``f(M x)`` and ``M f(x)`` differ most (relative, float64).

    ``nonfinite`` is ``""`` when every value was finite, ``"agree"`` when the activation took NaN or
    infinite values but both sides agree exactly (``log|x|`` under a permutation), and ``"differ"`` when
    they do not; either way the error is infinite.
    """

    error: float
    matrix: int
    x: tuple[float, ...]
    nonfinite: str = ""


def _apply(m: torch.Tensor, fx: torch.Tensor) -> torch.Tensor:
    """``M f(x)`` for every row of ``fx``; rows with infinite or NaN values multiply only the non-zero
    entries of ``M`` (so 0 times infinity is 0, as in the group's action)."""
    expected = torch.nan_to_num(fx, nan=0.0, posinf=0.0, neginf=0.0) @ m.T
    bad = ~torch.isfinite(fx).all(dim=1)
    if bool(bad.any()):
        products = m[None] * fx[bad][:, None, :]
        expected[bad] = torch.where(m[None] != 0, products, torch.zeros_like(products)).sum(-1)
    return expected


def worst_case(matrices: Any, activation: Any, seed: int = 0) -> WorstCase:
    """The largest relative error ``|f(M x) - M f(x)| / |M f(x)|`` over the matrices and the inputs
    (64 normals drawn from ``seed``, scaled signed basis vectors up to 1e3 and constants), with where it
    occurs. Rows with ``M f(x) = 0`` count their absolute error; a row where either side is NaN or
    infinite counts as an infinite error (see `WorstCase.nonfinite`)."""
    mats = torch.as_tensor(as_matrices(matrices))
    fn = as_activation(activation).fn
    seed = integer(seed, "seed", minimum=0)
    x = _inputs(mats.shape[-1], seed)
    worst = WorstCase(0.0, 0, tuple(float(v) for v in x[0]))
    nonfinite = ""
    with torch.no_grad():
        fx = fn(x)
        for j, m in enumerate(mats):
            expected = _apply(m, fx)
            got = fn(x @ m.T)
            finite = torch.isfinite(got).all(dim=1) & torch.isfinite(expected).all(dim=1)
            if not bool(finite.all()):
                same = (got == expected) | (torch.isnan(got) & torch.isnan(expected))
                agree = bool(same[~finite].all())
                nonfinite = "differ" if nonfinite == "differ" or not agree else "agree"
            norms = expected.norm(dim=1)
            gaps = (got - expected).norm(dim=1)
            rows = torch.where(norms > 0, gaps / norms.clamp_min(1e-300), gaps)
            rows = torch.where(finite & ~torch.isnan(rows), rows, torch.full_like(rows, math.inf))
            i = int(rows.argmax())
            if float(rows[i]) > worst.error:
                worst = WorstCase(float(rows[i]), j, tuple(float(v) for v in x[i]))
    return WorstCase(worst.error, worst.matrix, worst.x, nonfinite)


def measure(matrices: Any, activation: Any, seed: int = 0) -> float:
    """`worst_case`'s error alone."""
    return worst_case(matrices, activation, seed).error


def _entry_text(cls: MatrixClass) -> str:
    if cls.witness is None:
        return ""
    j, row, col, value = cls.witness
    return f"generator {j} has entry {value:.6g} at (row {row}, column {col})"


def _decide(cls: MatrixClass, info: ActivationInfo) -> tuple[bool | None, str]:
    """(verdict, the property it rests on) by Theorem 1; ``None`` when the probe was inconclusive."""
    name = info.name

    def said(ok: bool | None, what: str, because: str) -> str:
        state = "" if ok else "not " if ok is False else "perhaps (the probe could not tell) "
        return f"{name} is {state}{what}, {because}"

    if cls.case == "permutation":
        return True, f"all matrices are permutations, and {name} is continuous"
    if cls.case == "signed permutation":
        return info.odd, said(info.odd, "odd", "as the sign flips require")
    if cls.case == "non-negative monomial":
        return info.semilinear, said(info.semilinear, "positively homogeneous", "as the dense scales require")
    if cls.case in ("b-monomial", "signed b-monomial"):
        if cls.b is None:
            raise RuntimeError(f"classify returned {cls.case!r} without b")
        mult = info.multiplicative(cls.b)
        if cls.case == "b-monomial":
            return mult, said(mult, f"{cls.b:.6g}-multiplicative (f(b x) = b f(x))", "as the scales require")
        ok = None if info.odd is None or mult is None else bool(info.odd and mult)
        return (
            ok,
            f"{name} must be odd and {cls.b:.6g}-multiplicative; odd: {info.odd}, multiplicative: {mult}",
        )
    if cls.case == "positive monomial (scales undecided)":
        if info.semilinear:
            return True, f"{name} is positively homogeneous, which every positive monomial group admits"
        return None, (
            f"{name} is not positively homogeneous; it would be admissible only if the scales generated a "
            "discrete group b^Z and it were b-multiplicative, and float64 cannot tell whether they do"
        )
    if cls.case == "signed monomial (scales undecided)":
        if info.linear:
            return True, f"{name} is linear, which every monomial group admits"
        if info.odd is False:
            return False, f"{name} is not odd, as the sign flips require"
        return None, (
            f"{name} is not linear; it would be admissible only if the scales generated a discrete group "
            "b^Z and it were odd and b-multiplicative, and float64 cannot tell whether they do"
        )
    if cls.case == "unit-row-sum":
        return info.affine, said(
            info.affine, "affine", "the only kind that commutes with rows mixing to sum 1"
        )
    return info.linear, said(info.linear, "linear", "the only kind that commutes with these matrices")


def check(matrices: Any, activation: Any) -> ActivationCheck:
    """Decide, explain and measure whether ``activation`` applied entry-wise commutes with ``matrices``.

    Parameters
    ----------
    matrices
        ``(k, n, n)`` matrices of the generators (or of all elements), as an array or tensor, or an
        `eqlab.groups.Representation`.
    activation
        A name (``"relu"``, ``"leaky_relu"``, ``"prelu"``, ``"elu"``, ``"gelu"``, ``"silu"``, ``"sigmoid"``,
        ``"softplus"``, ``"tanh"``, ``"sin"``, ``"xabs"`` for ``x |x|``, ``"identity"``), a torch module
        applied entry-wise (``nn.ReLU()``), or any entry-wise callable on tensors, whose properties (odd,
        semilinear, ...) are then probed numerically on ``|x|`` up to 1e3.

    Returns
    -------
    ActivationCheck
        The verdict (``True``, ``False`` or ``None`` when undecided), the class of the matrices, the
        activations they admit, the reason and the measured float64 error.

    Examples
    --------
    The 90-degree rotation of the plane is a signed permutation: tanh commutes with it, ReLU does not.

    >>> import numpy as np
    >>> r = np.array([[[0.0, -1.0], [1.0, 0.0]]])
    >>> check(r, "tanh").equivariant, check(r, "relu").equivariant
    (True, False)
    >>> check(r, "relu").reason
    'generator 0 has entry -1 at (row 0, column 1); relu is not odd, as the sign flips require.'
    """
    cls = classify(matrices)
    info = as_activation(activation)
    theorem, because = _decide(cls, info)
    worst = worst_case(matrices, info.fn)
    error = worst.error
    verdict: bool | None
    if theorem is False:
        verdict = False
    elif worst.nonfinite == "agree":
        verdict = None
        because += (
            f"; but {info.name} takes NaN or infinite values (at 0 or far out), where the theorem, about "
            "real functions, says nothing; both sides agree there, so it is undecided"
        )
    elif error >= COUNTEREXAMPLE:
        verdict = False
        said = "admits it" if theorem else "could not decide"
        found = (
            f"relative error {error:.3g} at generator {worst.matrix}"
            if math.isfinite(error)
            else f"NaN or infinity at generator {worst.matrix}: {info.name} is not finite there"
        )
        because += (
            f"; the theorem {said}, but the measurement found a counterexample ({found}), "
            "so it is not equivariant"
        )
    elif theorem is True and error <= MEASURED_TOLERANCE:
        verdict = True
    else:
        verdict = None
        if theorem is True:
            because += (
                f"; but the measured error {error:.3g} exceeds {MEASURED_TOLERANCE:g}, so it is undecided"
            )
        else:
            undecided = ", ".join(info.inconclusive) or "the class of the scales"
            if cls.case.endswith("(scales undecided)"):
                undecided = "whether the scales are discrete"
            elif cls.b is not None and not info.inconclusive:
                undecided = "b-multiplicativity"
            because += (
                f"; the theorem could not decide ({undecided}), so it is undecided; "
                f"measured error {error:.3g}"
            )
    where = _entry_text(cls)
    reason = f"{where}; {because}." if where and verdict is not True else f"{because}."
    return ActivationCheck(
        verdict,
        cls.case,
        cls.admissible,
        reason,
        error,
        cls.b,
        f"{info.name} ({info.kind})",
        theorem is None,
    )


def bias_is_invariant(matrices: Any, bias: Any, tol: float = 1e-9) -> bool:
    """Theorem 8: an affine layer ``W x + c`` with equivariant ``W`` is equivariant iff ``M c = c`` for
    every matrix."""
    mats = as_matrices(matrices)
    tol = real(tol, "tol", minimum=0.0)
    if isinstance(bias, (str, bytes)) or bias is None:
        raise TypeError(f"bias must be a vector of {mats.shape[-1]} numbers, got {describe(bias)}")
    try:
        c = np.asarray(bias.detach().cpu() if isinstance(bias, torch.Tensor) else bias, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"bias must be a vector of {mats.shape[-1]} numbers, got {describe(bias)}") from None
    if c.shape != (mats.shape[-1],):
        raise ValueError(f"bias must be a vector of {mats.shape[-1]} numbers, got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("bias must be finite, got NaN or infinite entries")
    return bool(np.all(np.abs(mats @ c - c) <= tol * max(1.0, float(np.abs(c).max(initial=0.0)))))
