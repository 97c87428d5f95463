"""The characterization theorem as a check: verdicts agree with measured errors for every class of
matrices and every standard activation; b is read from the entries; reasons name the entry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from eqlab.activations import check
from eqlab.activations._check import bias_is_invariant
from eqlab.activations._classes import classify
from eqlab.activations._functions import TABLE
from eqlab.groups import Representation, symmetric


def _perm_matrix(p: np.ndarray) -> np.ndarray:
    m = np.zeros((p.size, p.size))
    m[p, np.arange(p.size)] = 1.0
    return m


@st.composite
def matrix_groups(draw: st.DrawFn) -> tuple[np.ndarray, str]:
    """Generators of a random group of one Theorem 1 class, and the class's name."""
    n = draw(st.integers(2, 5))
    k = draw(st.integers(1, 2))
    perms = [np.array(draw(st.permutations(list(range(n))))) for _ in range(k)]
    mats = np.stack([_perm_matrix(p) for p in perms])
    kind = draw(st.sampled_from(["permutation", "signed", "rescaled", "two-monomial", "rotation"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "signed":
        mats = mats * rng.choice([-1.0, 1.0], size=(k, 1, n))
        mats[0, :, 0] *= -1 if np.all(mats > -0.5) else 1  # make sure some entry is negative
    elif kind == "rescaled":  # D P D^-1 with a generic positive D: positive monomial
        d = rng.uniform(0.5, 2.0, size=n)
        mats = d[None, :, None] * mats / d[None, None, :]
    elif kind == "two-monomial":  # scales in 2^Z
        mats = mats * (2.0 ** rng.integers(-2, 3, size=(k, n, 1)))
    else:
        angle = rng.uniform(0.1, 3.0)
        c, s = np.cos(angle), np.sin(angle)
        mats = np.array([[[c, -s], [s, c]]])
    return mats, kind


@given(matrix_groups(), st.sampled_from(sorted(TABLE)))
def test_verdict_agrees_with_the_measured_error(group: tuple[np.ndarray, str], activation: str) -> None:
    mats, _kind = group
    result = check(mats, activation)
    if result.equivariant:
        assert result.max_error < 1e-12, result
    else:
        assert result.max_error > 1e-6, result
        assert "generator" in result.reason


@pytest.mark.parametrize(
    ("matrices", "case", "b"),
    [
        (np.eye(3)[None], "permutation", None),
        (np.array([[[0.0, -1.0], [1.0, 0.0]]]), "signed permutation", None),
        (np.array([[[0.0, 2.0], [0.5, 0.0]]]), "b-monomial", 2.0),
        (
            np.array([[[0.0, 8.0], [0.125, 0.0]], [[4.0, 0.0], [0.0, 0.25]]]),
            "b-monomial",
            2.0,
        ),  # 8 and 4 generate 2^Z
        (
            np.array([[[0.0, -9.0], [1 / 9, 0.0]], [[27.0, 0.0], [0.0, 1 / 27]]]),
            "signed b-monomial",
            3.0,
        ),  # 9 and 27 generate 3^Z
        (np.array([[[2.0, 0.0], [0.0, 3.0]]]), "non-negative monomial", None),
        (np.array([[[-2.0, 0.0], [0.0, 3.0]]]), "signed monomial (dense)", None),
        (np.array([[[0.3, 0.7], [0.6, 0.4]]]), "unit-row-sum", None),
        (Representation.rotation(8), "general", None),
    ],
)
def test_classes_and_b(matrices: object, case: str, b: float | None) -> None:
    result = classify(matrices)
    assert result.case == case
    assert (result.b is None) if b is None else abs(result.b - b) < 1e-9


def test_admissible_activations_per_class() -> None:
    perm = Representation.from_permutations(symmetric(4).action())
    assert all(check(perm, name).equivariant for name in TABLE)
    rot4 = np.array([[[0.0, -1.0], [1.0, 0.0]]])
    assert {n for n in TABLE if check(rot4, n).equivariant} == {"tanh", "sin", "xabs", "identity"}
    two = np.array([[[0.0, 2.0], [0.5, 0.0]]])
    assert {n for n in TABLE if check(two, n).equivariant} == {"relu", "leaky_relu", "prelu", "identity"}
    mixing = np.array([[[0.3, 0.7], [0.6, 0.4]]])
    assert {n for n in TABLE if check(mixing, n).equivariant} == {"identity"}


def test_callables_are_probed() -> None:
    rot4 = np.array([[[0.0, -1.0], [1.0, 0.0]]])
    assert check(rot4, lambda x: x**3).equivariant
    assert not check(rot4, torch.nn.LeakyReLU(0.2)).equivariant
    two = np.array([[[0.0, 2.0], [0.5, 0.0]]])

    def two_multiplicative(x: torch.Tensor) -> torch.Tensor:  # Lemma 8: f(2x) = 2 f(x), not semilinear
        t = torch.log2(x.abs().clamp_min(1e-300))
        return x * (1 + 0.3 * torch.sin(2 * np.pi * t)) * (x != 0)

    result = check(two, two_multiplicative)
    assert result.equivariant and result.max_error < 1e-12
    assert not check(np.array([[[0.0, 3.0], [1 / 3, 0.0]]]), two_multiplicative).equivariant


def test_reasons_name_the_entry_and_bias_condition() -> None:
    result = check(np.array([[[0.0, -1.0], [1.0, 0.0]]]), "relu")
    assert result.reason.startswith("generator 0 has entry -1 at (row 0, column 1)")
    assert bias_is_invariant(np.eye(3)[None][:, [1, 2, 0]], [2.0, 2.0, 2.0])
    assert not bias_is_invariant(np.eye(3)[None][:, [1, 2, 0]], [1.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        check(np.eye(2)[None], "swish")
