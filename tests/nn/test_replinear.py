"""RepLinear: equivariance to 1e-12, basis dimensions equal to character inner products, agreement with
parameter sharing, and errors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from eqlab.groups import Group, Representation, symmetric
from eqlab.groups._representation import paired_elements
from eqlab.nn import EquivariantLinear, RepLinear
from eqlab.nn._replinear import equivariant_basis, invariant_basis
from eqlab.testing import relative_error
from tests.strategies import groups

KINDS = st.sampled_from(["perm", "signed", "rescaled"])


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


def _representations(group: Group, kind_in: str, kind_out: str, seed: int) -> tuple[Representation, ...]:
    """Monomial representations of a random group (with at least one generator) on its two index sets."""
    assume(group.num_generators > 0)
    rng = np.random.default_rng(seed)
    rep_in = Representation(
        _matrices(group.generators[0], kind_in, rng).reshape(-1, group.sizes[0], group.sizes[0])
    )
    rep_out = Representation(
        _matrices(group.generators[1], kind_out, rng).reshape(-1, group.sizes[1], group.sizes[1])
    )
    return rep_in, rep_out


def _by(matrix: np.ndarray) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> matrix @ x`` on vectors ``(..., n)``."""
    m = torch.as_tensor(matrix)
    return lambda x: x @ m.T


def _characters(rep_in: Representation, rep_out: Representation) -> tuple[np.ndarray, np.ndarray]:
    g_in, g_out = paired_elements(rep_in, rep_out)
    return np.trace(g_in, axis1=1, axis2=2), np.trace(g_out, axis1=1, axis2=2)


@given(groups(max_size=4, max_generators=2), KINDS, KINDS, st.integers(0, 2**16))
def test_the_equivariant_basis_has_the_dimension_of_the_character_inner_product(
    group: Group, kind_in: str, kind_out: str, seed: int
) -> None:
    rep_in, rep_out = _representations(group, kind_in, kind_out, seed)
    chi_in, chi_out = _characters(rep_in, rep_out)
    assert equivariant_basis(rep_in, rep_out).shape[0] == round(float(np.mean(chi_in * chi_out)))


@given(groups(max_size=4, max_generators=2), KINDS, KINDS, st.integers(0, 2**16))
def test_the_invariant_basis_has_the_dimension_of_the_mean_character(
    group: Group, kind_in: str, kind_out: str, seed: int
) -> None:
    rep_in, rep_out = _representations(group, kind_in, kind_out, seed)
    _, chi_out = _characters(rep_in, rep_out)
    assert invariant_basis(rep_out).shape[0] == round(float(np.mean(chi_out)))


@given(groups(max_size=4, max_generators=2), KINDS, KINDS, st.integers(0, 2**16))
def test_the_layer_is_equivariant_to_every_element(
    group: Group, kind_in: str, kind_out: str, seed: int
) -> None:
    rep_in, rep_out = _representations(group, kind_in, kind_out, seed)
    g_in, g_out = paired_elements(rep_in, rep_out)
    layer = RepLinear(rep_in, rep_out).double()
    x = torch.randn(5, rep_in.dim, dtype=torch.float64)
    with torch.no_grad():
        out = layer(x)
        for a, b in zip(g_in, g_out, strict=True):
            # unbatched: a layer without weights outputs its invariant bias for every input, and the
            # batch-centred error would divide its rounding (1e-16) by a thousandth of the output
            assert relative_error(layer(_by(a)(x)), _by(b)(out), batched=False) <= 1e-12


def test_permutation_representations_give_the_parameter_sharing_layer() -> None:
    s4 = symmetric(4)
    rep = Representation.from_permutations(s4.action())
    sharing = EquivariantLinear(s4.action(), s4.action(), bias=False)
    assert RepLinear(rep, rep).num_weights == sharing.num_free_parameters == 2


def test_a_rotation_commutes_with_two_weights_and_no_bias() -> None:
    rot = Representation.rotation(8)
    layer = RepLinear(rot, rot)
    assert (layer.num_weights, layer.num_bias) == (2, 0)


def test_a_rotation_commutes_only_with_rotation_scalings() -> None:
    rot = Representation.rotation(8)
    layer = RepLinear(rot, rot)
    with torch.no_grad():
        layer.weight_coefficients.copy_(torch.tensor([0.3, -1.2]))
    w = layer.weight.double()
    assert torch.allclose(w[0, 0], w[1, 1], atol=1e-6) and torch.allclose(w[0, 1], -w[1, 0], atol=1e-6)


def test_representations_of_different_generator_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="rep_in has 1 generators but rep_out has 2"):
        RepLinear(Representation.rotation(4), Representation(np.stack([np.eye(2), np.eye(2)])))


def test_an_input_of_the_wrong_size_is_refused_with_the_size_expected() -> None:
    with pytest.raises(ValueError, match=r"expects inputs \(..., 2\)"):
        RepLinear(Representation.rotation(4), Representation.rotation(4))(torch.randn(3, 3))
