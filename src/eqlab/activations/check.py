"""`check`: is a pointwise activation equivariant for a representation? Decided by Theorem 1 of Pacini
et al. (ICLR 2024), explained, and confirmed by a float64 measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from eqlab.activations.classes import MatrixClass, as_matrices, classify
from eqlab.activations.functions import ActivationInfo, as_activation

__all__ = ["ActivationCheck", "WorstCase", "bias_is_invariant", "check", "measure", "worst_case"]


@dataclass(frozen=True)
class ActivationCheck:
    """The verdict on one (representation, activation) pair.

    Attributes
    ----------
    equivariant
        Whether the pointwise activation commutes with every matrix.
    case
        The class of the matrices (`eqlab.activations.classes`).
    admissible
        The activations this representation admits, in words.
    reason
        One or two sentences; on failure they name the group element (generator index) and entry.
    max_error
        The measured float64 relative error of ``f(M x)`` against ``M f(x)`` on random and adversarial
        inputs; it agrees with the verdict (below 1e-12 when equivariant).
    b
        The b of the b-monomial cases.
    activation
        The activation's name and class.
    inconclusive
        Whether the numerical probe of an unknown callable could not decide a property it needed.
    """

    equivariant: bool
    case: str
    admissible: str
    reason: str
    max_error: float
    b: float | None
    activation: str
    inconclusive: bool = False


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
    """The input and matrix where ``f(M x)`` and ``M f(x)`` differ most (relative, float64)."""

    error: float
    matrix: int
    x: tuple[float, ...]


def worst_case(matrices: Any, activation: Any, seed: int = 0) -> WorstCase:
    """The largest relative error ``|f(M x) - M f(x)| / |M f(x)|`` over the matrices and the inputs
    (64 normals drawn from ``seed``, scaled signed basis vectors and constants), with where it occurs.
    Rows with ``M f(x) = 0`` count their absolute error."""
    mats = torch.as_tensor(as_matrices(matrices))
    fn = as_activation(activation).fn
    x = _inputs(mats.shape[-1], seed)
    worst = WorstCase(0.0, 0, tuple(float(v) for v in x[0]))
    with torch.no_grad():
        fx = fn(x)
        for j, m in enumerate(mats):
            expected = fx @ m.T
            got = fn(x @ m.T)
            norms = expected.norm(dim=1)
            gaps = (got - expected).norm(dim=1)
            rows = torch.where(norms > 0, gaps / norms.clamp_min(1e-300), gaps)
            i = int(rows.argmax())
            if float(rows[i]) > worst.error:
                worst = WorstCase(float(rows[i]), j, tuple(float(v) for v in x[i]))
    return worst


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
        return f"{name} is {'' if ok else 'not '}{what}, {because}"

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
        ``(k, n, n)`` matrices of the generators (or of all elements), as an array or tensor, or an eqlab
        `Representation`.
    activation
        A name (``"relu"``, ``"tanh"``, ...; see `eqlab.activations.functions.TABLE`), a torch module or
        any callable on tensors (probed numerically).

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
    verdict, because = _decide(cls, info)
    error = measure(matrices, info.fn)
    inconclusive = verdict is None
    if inconclusive:
        verdict = error <= 1e-9
        undecided = ", ".join(info.inconclusive) or "b-multiplicativity"
        because += f"; the probe was inconclusive ({undecided}), so the measured error decides"
    where = _entry_text(cls)
    reason = f"{where}; {because}." if where and not verdict else f"{because}."
    return ActivationCheck(
        bool(verdict),
        cls.case,
        cls.admissible,
        reason,
        error,
        cls.b,
        f"{info.name} ({info.kind})",
        inconclusive,
    )


def bias_is_invariant(matrices: Any, bias: Any, tol: float = 1e-9) -> bool:
    """Theorem 8: an affine layer ``W x + c`` with equivariant ``W`` is equivariant iff ``M c = c`` for
    every matrix."""
    mats = as_matrices(matrices)
    c = np.asarray(bias, dtype=np.float64)
    return bool(np.all(np.abs(mats @ c - c) <= tol * max(1.0, float(np.abs(c).max(initial=0.0)))))
