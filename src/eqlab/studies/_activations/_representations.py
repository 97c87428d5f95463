"""The table's rows and columns: every representation (a builder from a numpy generator, the random ones
redrawn per seed) and every activation (the standard ones plus two made for Theorem 1)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from eqlab.activations._functions import TABLE
from eqlab.activations._named import named_representation
from eqlab.groups import permutation_matrix


def log_periodic(x: torch.Tensor) -> torch.Tensor:
    """``x (1 + 0.3 sin(2 pi log2 |x|))``: odd and 2-multiplicative, not semilinear (Lemma 8's kind)."""
    safe = torch.where(x == 0, torch.ones_like(x), x.abs())
    return torch.where(x == 0, torch.zeros_like(x), x * (1 + 0.3 * torch.sin(2 * math.pi * torch.log2(safe))))


def shifted(x: torch.Tensor) -> torch.Tensor:
    """``x + 1``: affine, with f(0) != 0."""
    return x + 1


ACTIVATIONS: dict[str, Any] = {**{name: name for name in TABLE}, "log-periodic": log_periodic, "x+1": shifted}


def _prime_scales(rng: np.random.Generator, size: int) -> np.ndarray:
    """Positive scales that are powers of distinct primes: their ratios are small rationals whose prime
    exponents have rank at least 2, so the scales provably generate a dense group (see
    `eqlab.activations._classes`), where random floats could not be told dense or discrete."""
    primes = np.array([2.0, 3.0, 5.0, 7.0, 11.0])[rng.permutation(5)[:size]]
    return primes ** rng.integers(1, 3, size=size)


def _rescaled_s4(rng: np.random.Generator) -> np.ndarray:
    d = _prime_scales(rng, 4)
    perms = np.asarray(named_representation("S4:perm").generators)
    return d[None, :, None] * perms / d[None, None, :]


def _two_monomial(rng: np.random.Generator) -> np.ndarray:
    shift = permutation_matrix([1, 2, 3, 0]).numpy()
    return (shift @ np.diag([2.0, 0.5, 4.0, 0.25]))[None]  # scales multiply to 1 around the cycle


def _signed_two_monomial(rng: np.random.Generator) -> np.ndarray:
    return np.array([[[0.0, -2.0], [0.5, 0.0]]])  # squares to -I: order 4


def _rescaled_signed_s3(rng: np.random.Generator) -> np.ndarray:
    """Signed permutations of 3 points rescaled by a random positive diagonal: two independent scale
    ratios, so the absolute entries generate a dense group (two points would give one ratio, discrete)."""
    mats = np.stack(
        [
            permutation_matrix([1, 0, 2]).numpy() @ np.diag([-1.0, 1.0, 1.0]),
            permutation_matrix([1, 2, 0]).numpy(),
        ]
    )
    d = _prime_scales(rng, 3)
    return d[None, :, None] * mats / d[None, None, :]


def _unit_row_sum(rng: np.random.Generator) -> np.ndarray:
    z = rng.standard_normal(3)
    z -= z.mean()  # A 1 = 1 when z is orthogonal to the ones vector, so A P A^-1 keeps unit row sums
    a = np.eye(3) + np.outer(rng.standard_normal(3), z) * 0.5
    perms = np.asarray(named_representation("S3:perm").generators)
    return a @ perms @ np.linalg.inv(a)


def _disguised_regular(rng: np.random.Generator) -> np.ndarray:
    a = rng.standard_normal((4, 4)) + 2 * np.eye(4)
    return a @ np.asarray(named_representation("C4:regular").generators) @ np.linalg.inv(a)


def _named(name: str) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: np.array(named_representation(name).generators)


RANDOM = (_rescaled_s4, _rescaled_signed_s3, _unit_row_sum, _disguised_regular)
"""The builders of `REPRESENTATIONS` that draw from their generator (redrawn per seed)."""

REPRESENTATIONS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "C4 regular": _named("C4:regular"),
    "S4 on 4 points": _named("S4:perm"),
    "D4 on the plane": _named("D4:rot2d"),
    "C4 on the plane": _named("C4:rot2d"),
    "S4 rescaled (D P D^-1)": _rescaled_s4,
    "C4 2-monomial": _two_monomial,
    "signed 2-monomial": _signed_two_monomial,
    "signed S3, rescaled": _rescaled_signed_s3,
    "S3 unit-row-sum (A P A^-1)": _unit_row_sum,
    "C4 regular, random basis": _disguised_regular,
    "S3 standard": _named("S3:standard"),
    "C8 on the plane": _named("C8:rot2d"),
    "SO2, 37 degrees": _named("SO2:rot2d@37deg"),
}
"""Every representation of the table, built from a numpy generator (the random ones draw from it)."""
