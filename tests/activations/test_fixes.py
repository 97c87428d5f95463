"""Fixes where the theory allows one: positive rescaling (Theorem 2) and a permutation basis
(Corollary 1), checked against brute-force references on small groups."""

from __future__ import annotations

import importlib
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from eqlab.activations import check, permutation_basis, rescale_to_permutation
from eqlab.activations._named import named_representation
from eqlab.activations._permutation_basis import _Group


def _perm_matrix(p: np.ndarray) -> np.ndarray:
    m = np.zeros((p.size, p.size))
    m[p, np.arange(p.size)] = 1.0
    return m


@st.composite
def permutation_stacks(draw: st.DrawFn, max_n: int = 5) -> np.ndarray:
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(1, 2))
    return np.stack([_perm_matrix(np.array(draw(st.permutations(list(range(n)))))) for _ in range(k)])


def test_the_papers_example_becomes_the_swap() -> None:
    rescaled = rescale_to_permutation(np.array([[[0.0, 2.0], [0.5, 0.0]]]))
    np.testing.assert_allclose(rescaled.scales, [1 / math.sqrt(2), math.sqrt(2)], rtol=1e-15)
    assert rescaled.matrices.tolist() == [[[0.0, 1.0], [1.0, 0.0]]]
    assert rescaled.case == "permutation"


@given(permutation_stacks(), st.booleans(), st.integers(0, 2**16))
def test_rescaling_recovers_the_permutations(perms: np.ndarray, signed: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = perms.shape[-1]
    target = perms * (rng.choice([-1.0, 1.0], size=(perms.shape[0], 1, n)) if signed else 1.0)
    d = rng.uniform(0.2, 5.0, size=n)
    mats = target * d[None, None, :] / d[None, :, None]  # D^-1 P D
    rescaled = rescale_to_permutation(mats)
    np.testing.assert_array_equal(rescaled.matrices, target)
    s = rescaled.scales
    np.testing.assert_allclose(s[None, :, None] * mats / s[None, None, :], target, atol=1e-12)
    assert rescaled.case == ("signed permutation" if (target < 0).any() else "permutation")
    assert check(rescaled.matrices, "tanh").equivariant


def test_rescaling_refuses_what_no_rescaling_can_fix() -> None:
    with pytest.raises(ValueError, match="must be monomial"):
        rescale_to_permutation(named_representation("C8:rot2d"))
    with pytest.raises(ValueError, match=r"multiply to (2|0.5), not 1"):
        rescale_to_permutation(np.array([[[0.0, 2.0], [1.0, 0.0]]]))


def _brute_force_subgroup_classes(group: _Group) -> int:
    """Every subset containing the identity and closed under the product, up to conjugacy."""
    others = [g for g in range(group.order) if g != group.identity]
    classes = set()
    for r in range(len(others) + 1):
        for subset in itertools.combinations(others, r):
            members = {group.identity, *subset}
            if all(int(group.table[a, b]) in members for a in members for b in members):
                conjugates = [frozenset(int(group.conj[h, x]) for h in members) for x in range(group.order)]
                classes.add(min(sorted(c) for c in conjugates).__repr__())
    return len(classes)


@pytest.mark.parametrize(
    ("name", "expected"), [("C6:regular", 4), ("S3:perm", 4), ("D4:rot2d", 8), ("C2:sign", 2)]
)
def test_subgroup_classes_match_brute_force(name: str, expected: int) -> None:
    rep = named_representation(name)
    group = _Group(np.asarray(rep.generators), 100)
    assert len(group.subgroup_classes()) == expected == _brute_force_subgroup_classes(group)


def test_subgroup_classes_of_s4() -> None:
    group = _Group(np.asarray(named_representation("S4:perm").generators), 100)
    assert sorted(len(m) for m, _ in group.subgroup_classes()) == [1, 2, 2, 3, 4, 4, 4, 6, 8, 12, 24]


def test_permutation_character_counts_fixed_cosets() -> None:
    group = _Group(np.asarray(named_representation("D4:rot2d").generators), 100)
    for members, _ in group.subgroup_classes():
        cosets = {frozenset(int(group.table[g, h]) for h in members) for g in range(group.order)}
        fixed = [
            sum(frozenset(int(group.table[g, c]) for c in coset) == coset for coset in cosets)
            for g in range(group.order)
        ]
        np.testing.assert_array_equal(group.permutation_character(members), fixed)


@pytest.mark.parametrize(
    ("matrices", "test"),
    [
        (named_representation("C4:rot2d"), "non-negative character"),
        (named_representation("C8:rot2d"), "integer character"),
        (named_representation("S3:standard"), "non-negative character"),
        (np.array([np.block([[named_representation("C4:rot2d").generators[0], np.zeros((2, 2))],
                             [np.zeros((2, 2)), np.eye(2)]])]), "permutation characters"),
        (named_representation(f"SO2:rot2d@{360 / math.sqrt(2)}deg"), "finite group"),
    ],
)  # fmt: skip
def test_failures_name_the_test(matrices: object, test: str) -> None:
    result = permutation_basis(matrices, max_order=60)
    assert not result.found and result.test == test
    assert result.change_of_basis is None


@given(permutation_stacks(max_n=5), st.integers(0, 2**16))
def test_a_disguised_permutation_representation_is_found(perms: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((perms.shape[-1],) * 2) + 3 * np.eye(perms.shape[-1])
    disguised = a @ perms @ np.linalg.inv(a)
    result = permutation_basis(disguised)
    assert result.found and result.test == "all passed"
    assert result.matrices is not None and result.change_of_basis is not None
    t = result.change_of_basis
    np.testing.assert_allclose(t @ disguised @ np.linalg.inv(t), result.matrices, atol=1e-8)
    assert set(np.unique(result.matrices)) <= {0.0, 1.0}
    assert np.all(result.matrices.sum(axis=1) == 1) and np.all(result.matrices.sum(axis=2) == 1)
    assert sum(size for _, size in result.cosets) == perms.shape[-1]


def test_the_standard_representation_plus_a_trivial_one_is_s3_on_three_points() -> None:
    standard = np.asarray(named_representation("S3:standard").generators)
    mats = np.zeros((2, 3, 3))
    mats[:, :2, :2], mats[:, 2, 2] = standard, 1.0
    result = permutation_basis(mats)
    assert result.found and result.cosets == ((2, 3),)


def test_basis_activation_makes_relu_equivariant() -> None:
    c, s = math.cos(2 * math.pi / 3), math.sin(2 * math.pi / 3)
    rep = np.array([[[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]])
    assert not check(rep, "relu").equivariant
    result = permutation_basis(rep)
    layer = result.activation(torch.nn.ReLU())
    x = torch.randn(64, 3, dtype=torch.float64)
    m = torch.as_tensor(rep[0])
    torch.testing.assert_close(layer(x @ m.T), layer(x) @ m.T, rtol=1e-12, atol=1e-12)


def test_a_basis_that_was_not_found_builds_no_activation() -> None:
    rotation = np.array([[[0.0, -1.0], [1.0, 0.0]]])
    result = permutation_basis(rotation)
    assert not result.found
    with pytest.raises(ValueError, match="no permutation basis was found"):
        result.activation(torch.relu)


def test_the_rescaled_activation_commutes_with_the_monomial_matrices() -> None:
    mats = np.array([[[0.0, 2.0], [0.5, 0.0]], [[1.0, 0.0], [0.0, 1.0]]])
    assert not check(mats, "tanh").equivariant
    layer = rescale_to_permutation(mats).activation(torch.tanh)
    x = torch.randn(64, 2, dtype=torch.float64)
    for m in torch.as_tensor(mats):
        torch.testing.assert_close(layer(x @ m.T), layer(x) @ m.T, rtol=1e-12, atol=1e-12)


def test_both_intertwiner_paths_find_the_basis(monkeypatch: pytest.MonkeyPatch) -> None:
    rep = np.asarray(named_representation("D4:regular").generators)
    a = np.random.default_rng(1).standard_normal((8, 8)) + 3 * np.eye(8)
    disguised = a @ rep @ np.linalg.inv(a)
    sylvester = permutation_basis(disguised)
    module = importlib.import_module("eqlab.activations._permutation_basis")  # the name is also a function
    monkeypatch.setattr(module, "SYLVESTER_MAX_DIM", 0)
    averaged = permutation_basis(disguised)
    for result in (sylvester, averaged):
        assert result.found and result.change_of_basis is not None and result.matrices is not None
        t = result.change_of_basis
        np.testing.assert_allclose(t @ disguised @ np.linalg.inv(t), result.matrices, atol=1e-9)
