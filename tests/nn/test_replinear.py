"""RepLinear: equivariance to 1e-12 and basis dimensions equal to character inner products."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from eqlab.groups import Group, Representation, symmetric
from eqlab.groups._representation import paired_elements
from eqlab.nn import EquivariantLinear, RepLinear
from eqlab.nn._replinear import equivariant_basis, invariant_basis
from tests.strategies import groups


def _matrices(perms: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Permutation matrices of ``perms`` (k, n), optionally signed, or conjugated by a positive diagonal."""
    k, n = perms.shape
    mats = np.zeros((k, n, n))
    for j, p in enumerate(perms):
        mats[j, p, np.arange(n)] = 1.0
    if kind == "signed":
        mats *= rng.choice([-1.0, 1.0], size=(k, 1, n))
    elif kind == "rescaled":  # D P D^-1: a finite group of positive monomial matrices (Pacini et al., Thm 2)
        d = rng.uniform(0.5, 2.0, size=n)
        mats = d[None, :, None] * mats / d[None, None, :]
    return mats


@given(
    groups(max_size=4, max_generators=2),
    st.sampled_from(["perm", "signed", "rescaled"]),
    st.sampled_from(["perm", "signed", "rescaled"]),
    st.integers(0, 2**16),
)
def test_basis_dimensions_are_character_inner_products(
    group: Group, kind_in: str, kind_out: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    rep_in = Representation(
        _matrices(group.generators[0], kind_in, rng).reshape(-1, group.sizes[0], group.sizes[0])
    )
    rep_out = Representation(
        _matrices(group.generators[1], kind_out, rng).reshape(-1, group.sizes[1], group.sizes[1])
    )
    if group.num_generators == 0:
        return
    g_in, g_out = paired_elements(rep_in, rep_out)
    chi_in, chi_out = np.trace(g_in, axis1=1, axis2=2), np.trace(g_out, axis1=1, axis2=2)
    assert equivariant_basis(rep_in, rep_out).shape[0] == round(float(np.mean(chi_in * chi_out)))
    assert invariant_basis(rep_out).shape[0] == round(float(np.mean(chi_out)))
    layer = RepLinear(rep_in, rep_out).double()
    x = torch.randn(5, rep_in.dim, dtype=torch.float64)
    out = layer(x)
    for a, b in zip(g_in, g_out, strict=True):
        moved = layer(x @ torch.as_tensor(a).T)
        expected = out @ torch.as_tensor(b).T
        assert float((moved - expected).norm()) <= 1e-12 * max(float(expected.norm()), 1.0)


def test_permutation_representations_match_parameter_sharing() -> None:
    s4 = symmetric(4)
    rep = Representation.from_permutations(s4.action())
    sharing = EquivariantLinear(s4.action(), s4.action(), bias=False)
    assert RepLinear(rep, rep).num_weights == sharing.num_free_parameters == 2


def test_rotations_commute_only_with_rotation_scalings() -> None:
    rot = Representation.rotation(8)
    layer = RepLinear(rot, rot)
    assert (layer.num_weights, layer.num_bias) == (2, 0)
    with torch.no_grad():
        layer.weight_coefficients.copy_(torch.tensor([0.3, -1.2]))
    w = layer.weight.double()
    assert torch.allclose(w[0, 0], w[1, 1], atol=1e-6) and torch.allclose(w[0, 1], -w[1, 0], atol=1e-6)
    with pytest.raises(ValueError, match="more than limit=100"):
        Representation.rotation(1, degrees=360 / np.sqrt(2)).elements(limit=100)


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="singular"):
        Representation([[[1.0, 0.0], [0.0, 0.0]]])
    with pytest.raises(ValueError, match="rep_in has 1 generators but rep_out has 2"):
        RepLinear(Representation.rotation(4), Representation(np.stack([np.eye(2), np.eye(2)])))
    with pytest.raises(ValueError, match=r"expects inputs \(..., 2\)"):
        RepLinear(Representation.rotation(4), Representation.rotation(4))(torch.randn(3, 3))


def test_elements_of_an_ill_conditioned_representation_are_not_split_by_rounding() -> None:
    perms = np.asarray(Representation.from_permutations(symmetric(4).action()).generators)
    a = np.diag([1e3, 1.0, 1e-3, 7.0]) @ np.random.default_rng(0).standard_normal((4, 4))
    conjugated = Representation(a @ perms @ np.linalg.inv(a))
    assert len(conjugated.elements()) == 24  # the rounded keys alone found more
