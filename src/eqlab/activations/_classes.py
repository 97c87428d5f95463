"""Which class of matrices does a representation use? (Pacini, Dong, Lepri & Santin, ICLR 2024.)

Theorem 1 pairs each class of matrices with the largest family of pointwise activations commuting with
all of them:

| case | matrices | admissible activations |
| --- | --- | --- |
| ``permutation`` | permutation | any continuous function |
| ``signed permutation`` | entries in {0, +-1} | odd continuous functions |
| ``b-monomial`` | positive monomial, entries generate b^Z | continuous b-multiplicative functions |
| ``non-negative monomial`` | positive monomial, entries dense in R>0 | semilinear functions |
| ``signed b-monomial`` | monomial, absolute entries generate b^Z | odd b-multiplicative functions |
| ``signed monomial (dense)`` | monomial, absolute entries dense | linear functions only |
| ``unit-row-sum`` | not monomial, every row sums to 1 | affine functions (Theorem 9) |
| ``general`` | anything else | linear functions only |
| ``positive monomial (scales undecided)`` | positive monomial, undecidable scales | semilinear ones surely |
| ``signed monomial (scales undecided)`` | monomial, float64 cannot decide | linear ones surely |

The classes are closed under products, so the generators of a representation decide its class. The
entries of every element generate the same multiplicative group as the entries of the generators.

**Discrete or dense.** The absolute entries generate a discrete group ``b^Z`` exactly when all their
logarithms are rational multiples of one another. Entries that are small rationals (``p/q`` with ``q``
at most `MAX_DENOMINATOR`, to a relative 1e-12, like 8, 1/27 or 2/3) are decided exactly: by unique
factorisation their logarithms span a space whose dimension is the rank of their prime-exponent vectors,
so the group is discrete (``b`` from the lattice of exponents) when that rank is 1, and dense otherwise.
Other entries are read through their logarithms: every ratio ``log|e_i| / log|e_0|`` must agree with a
fraction of denominator at most `MAX_DENOMINATOR` to a relative `TOLERANCE`, and then ``log b`` is
``|log|e_0||`` times ``gcd(numerators) / lcm(denominators)``. When a ratio matches no such fraction, float64
cannot tell a dense group from a discrete one with a larger denominator (``2^(1/1009)``), and the class
says so: ``"positive monomial (scales undecided)"`` or ``"signed monomial (scales undecided)"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from eqlab.groups._representation import Representation, as_matrix_stack

__all__ = ["MAX_DENOMINATOR", "TOLERANCE", "MatrixClass", "as_matrices", "classify"]

TOLERANCE = 1e-9
"""Relative tolerance for entries, row sums and log-ratios."""
MAX_DENOMINATOR = 1000
"""Largest denominator accepted when log-ratios are read as fractions."""

ADMISSIBLE = {
    "permutation": "any continuous function",
    "signed permutation": "odd continuous functions",
    "b-monomial": "continuous b-multiplicative functions, f(b^n x) = b^n f(x) (semilinear ones included)",
    "non-negative monomial": "semilinear functions, f(t x) = t f(x) for t > 0 (ReLU, leaky ReLU, PReLU)",
    "signed b-monomial": "odd continuous b-multiplicative functions",
    "signed monomial (dense)": "linear functions only",
    "unit-row-sum": "affine functions only",
    "general": "linear functions only",
    "positive monomial (scales undecided)": "semilinear functions; also b-multiplicative ones if the scales "
    "generate a discrete group b^Z, which float64 cannot decide here",
    "signed monomial (scales undecided)": "linear functions; also odd b-multiplicative ones if the scales "
    "generate a discrete group b^Z, which float64 cannot decide here",
}


@dataclass(frozen=True)
class MatrixClass:
    """The class of a set of matrices, with the evidence that decided it.

    Attributes
    ----------
    case
        One of the keys of `ADMISSIBLE`.
    admissible
        The activations the theorem admits, in words.
    b
        For the b-monomial cases, the generator ``b > 1`` of the absolute entries' group.
    witness
        ``(generator index, row, column, value)`` of an entry that rules out a smaller class, if any:
        a negative entry, an entry other than 1, or a second non-zero in a row.
    """

    case: str
    admissible: str
    b: float | None = None
    witness: tuple[int, int, int, float] | None = None


def as_matrices(matrices: Any, name: str = "matrices") -> np.ndarray:
    """``(k, n, n)`` float64 matrices from an array, a tensor or a `Representation` (its generators): a
    writable copy, checked to be finite, real and invertible; errors name the argument ``name``."""
    if isinstance(matrices, Representation):
        return np.array(matrices.generators, dtype=np.float64)  # a writable copy
    return as_matrix_stack(matrices, name)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def _small_rational(value: float) -> Fraction | None:
    """``value`` as ``p/q`` with ``q <= MAX_DENOMINATOR`` when it is one to a relative 1e-12."""
    fraction = Fraction(value).limit_denominator(MAX_DENOMINATOR)
    if fraction.numerator == 0 or abs(float(fraction) - value) > 1e-12 * abs(value):
        return None
    return fraction


def _prime_exponents(fraction: Fraction) -> dict[int, int]:
    """The exponent of every prime in ``fraction``: ``12/5 -> {2: 2, 3: 1, 5: -1}``."""
    exponents: dict[int, int] = {}
    for number, sign in ((fraction.numerator, 1), (fraction.denominator, -1)):
        prime = 2
        while number > 1:
            while number % prime == 0:
                exponents[prime] = exponents.get(prime, 0) + sign
                number //= prime
            prime += 1 if prime == 2 else 2
    return exponents


def _rational_generator(fractions: list[Fraction]) -> tuple[bool, float | None]:
    """(decided, b) for positive rationals: ``b`` when they generate ``b^Z``, ``None`` when dense."""
    vectors = [_prime_exponents(f) for f in fractions if f != 1]
    if not vectors:
        return True, None
    primes = sorted({p for v in vectors for p in v})
    matrix = np.array([[v.get(p, 0) for p in primes] for v in vectors], dtype=np.float64)
    if np.linalg.matrix_rank(matrix) > 1:
        return True, None
    direction = matrix[np.argmax(np.abs(matrix).sum(axis=1))]
    pivot = int(np.flatnonzero(direction)[0])
    # every vector is (its pivot exponent / the direction's) times the direction: the lattice's
    # generator is the direction scaled by gcd(pivot exponents) / direction's pivot
    step = math.gcd(*(round(row[pivot]) for row in matrix))
    base = direction * step / direction[pivot]
    b = math.prod(Fraction(p) ** round(e) for p, e in zip(primes, base, strict=True))
    value = float(b)
    return True, value if value > 1 else 1 / value


def _logarithmic_generator(values: list[float]) -> tuple[bool, float | None]:
    """(decided, b) read from the log-ratios: undecided when a ratio matches no small fraction."""
    logs = [math.log(v) for v in values if not _close(v, 1.0)]
    if not logs:
        return True, None
    base = abs(logs[0])
    fractions = []
    for value in logs:
        ratio = Fraction(value / base).limit_denominator(MAX_DENOMINATOR)
        if abs(float(ratio) * base - value) > TOLERANCE * max(1.0, abs(value)):
            return False, None
        fractions.append(abs(ratio))
    denominator = math.lcm(*(f.denominator for f in fractions))
    numerator = math.gcd(*(int(f * denominator) for f in fractions))
    return True, math.exp(base * numerator / denominator)


def _discrete_generator(values: list[float]) -> tuple[bool, float | None]:
    """(decided, b): ``b > 1`` with every value in ``b^Z`` if the values generate a discrete group,
    ``None`` if dense; ``decided`` is False when float64 cannot tell (see the module docstring)."""
    rationals = [_small_rational(v) for v in values]
    if all(r is not None for r in rationals):
        return _rational_generator([r for r in rationals if r is not None])
    return _logarithmic_generator(values)


def classify(matrices: Any) -> MatrixClass:
    """The Theorem 1 class of the matrices (see the module docstring)."""
    mats = as_matrices(matrices)
    nonzero = np.abs(mats) > TOLERANCE
    per_row, per_col = nonzero.sum(axis=2), nonzero.sum(axis=1)
    if not (np.all(per_row == 1) and np.all(per_col == 1)):
        j, row = (int(v) for v in np.argwhere(per_row != 1)[0]) if np.any(per_row != 1) else (0, 0)
        cols = np.flatnonzero(nonzero[j, row])
        col = int(cols[1]) if cols.size > 1 else int(cols[0]) if cols.size else 0
        witness = (j, row, col, float(mats[j, row, col]))
        rows_sum_to_one = np.allclose(mats.sum(axis=2), 1.0, rtol=0, atol=TOLERANCE * mats.shape[1])
        case = "unit-row-sum" if rows_sum_to_one else "general"
        return MatrixClass(case, ADMISSIBLE[case], witness=witness)
    entries = mats[nonzero]
    where = np.argwhere(nonzero)
    negative = entries < 0
    magnitudes = np.abs(entries)
    not_one = ~np.isclose(magnitudes, 1.0, rtol=TOLERANCE, atol=0)

    def witness_at(mask: np.ndarray) -> tuple[int, int, int, float]:
        j, row, col = (int(v) for v in where[np.argmax(mask)])
        return (j, row, col, float(mats[j, row, col]))

    if not not_one.any():
        if negative.any():
            return MatrixClass(
                "signed permutation", ADMISSIBLE["signed permutation"], witness=witness_at(negative)
            )
        return MatrixClass("permutation", ADMISSIBLE["permutation"])
    decided, b = _discrete_generator([float(v) for v in magnitudes])
    scale_witness = witness_at(not_one)
    if not decided:
        case = f"{'signed' if negative.any() else 'positive'} monomial (scales undecided)"
    elif negative.any():
        case = "signed b-monomial" if b is not None else "signed monomial (dense)"
    else:
        case = "b-monomial" if b is not None else "non-negative monomial"
    admissible = (
        ADMISSIBLE[case].replace("b-multiplicative", f"{b:.6g}-multiplicative") if b else ADMISSIBLE[case]
    )
    return MatrixClass(case, admissible, b=b, witness=scale_witness)
