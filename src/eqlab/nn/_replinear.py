"""`RepLinear`: the most general equivariant linear map between two matrix representations.

The weights live in the space ``{W : rho_out(g) W = W rho_in(g) for every generator g}``, found as the
nullspace of the stacked constraint by an SVD (the approach of emlp, Finzi, Welling & Wilson 2021),
fine for representations of moderate size (``n_in * n_out`` up to a few thousand). The bias lives
in the invariant subspace of ``rho_out`` (Pacini et al. 2024, Theorem 8: an equivariant affine map
needs an invariant bias). For permutation representations `eqlab.nn.EquivariantLinear` builds the
same space by orbit tying, much faster.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from eqlab._arguments import describe, flag, real, tensor
from eqlab.groups._representation import Representation

__all__ = ["RepLinear", "equivariant_basis", "invariant_basis"]


def _representation(value: Any, name: str) -> Representation:
    if not isinstance(value, Representation):
        raise TypeError(f"{name} must be an eqlab Representation, got {describe(value)}")
    return value


def _tolerance(tol: Any) -> float:
    value = real(tol, "tol")
    if not 0.0 < value < 1.0:
        raise ValueError(f"tol must be a number in (0, 1), got {value}")
    return value


def _nullspace(constraint: np.ndarray, size: int, tol: float) -> np.ndarray:
    """Orthonormal rows spanning ``{v : constraint @ v = 0}``, shape ``(d, size)``."""
    if constraint.shape[0] == 0:
        return np.eye(size)
    _, singular, vt = np.linalg.svd(constraint, full_matrices=True)
    scale = max(1.0, float(singular[0])) if singular.size else 1.0
    rank = int((singular > tol * scale).sum())
    return vt[rank:]


def equivariant_basis(rep_in: Representation, rep_out: Representation, tol: float = 1e-9) -> np.ndarray:
    """Orthonormal basis of the equivariant matrices, shape ``(d, n_out, n_in)``."""
    _representation(rep_in, "rep_in")
    _representation(rep_out, "rep_out")
    tol = _tolerance(tol)
    if rep_in.num_generators != rep_out.num_generators:
        raise ValueError(
            f"rep_in has {rep_in.num_generators} generators but rep_out has {rep_out.num_generators}: "
            "generator j of each must be the same group element"
        )
    n_in, n_out = rep_in.dim, rep_out.dim
    eye_in, eye_out = np.eye(n_in), np.eye(n_out)
    # row-major vec: vec(A W) = (A kron I) vec(W), vec(W B) = (I kron B^T) vec(W)
    blocks = [
        np.kron(r_out, eye_in) - np.kron(eye_out, r_in.T)
        for r_in, r_out in zip(rep_in.generators, rep_out.generators, strict=True)
    ]
    constraint = np.concatenate(blocks) if blocks else np.zeros((0, n_out * n_in))
    return _nullspace(constraint, n_out * n_in, tol).reshape(-1, n_out, n_in)


def invariant_basis(rep: Representation, tol: float = 1e-9) -> np.ndarray:
    """Orthonormal basis of the vectors every generator fixes, shape ``(d, n)``."""
    _representation(rep, "rep")
    tol = _tolerance(tol)
    blocks = [g - np.eye(rep.dim) for g in rep.generators]
    constraint = np.concatenate(blocks) if blocks else np.zeros((0, rep.dim))
    return _nullspace(constraint, rep.dim, tol)


class RepLinear(nn.Module):
    """An equivariant linear (affine) layer ``R^n_in -> R^n_out`` between matrix representations:
    ``(..., n_in) -> (..., n_out)``.

    Parameters
    ----------
    rep_in, rep_out
        Representations of the same group (generator ``j`` of each is the same element).
    bias
        Add a bias restricted to the invariant subspace of ``rep_out`` (no bias when it is zero).

    Examples
    --------
    The 90-degree rotation of the plane commutes only with rotation-scalings, and fixes no vector:

    >>> rot = Representation.rotation(4)
    >>> layer = RepLinear(rot, rot)
    >>> layer.num_weights, layer.num_bias
    (2, 0)
    """

    rep_in: Representation
    """The representation on the inputs, of dimension ``n_in``."""
    rep_out: Representation
    """The representation on the outputs, of dimension ``n_out``."""
    weight_basis: torch.Tensor
    """``(num_weights, n_out, n_in)`` float64 buffer: an orthonormal basis of the equivariant matrices."""
    bias_basis: torch.Tensor
    """``(num_bias, n_out)`` float64 buffer: an orthonormal basis of the invariant vectors of ``rep_out``
    (no rows without bias)."""
    weight_coefficients: nn.Parameter
    """``(num_weights,)``: the trainable coordinates of the weight in `weight_basis`."""
    bias_coefficients: nn.Parameter
    """``(num_bias,)``: the trainable coordinates of the bias in `bias_basis`."""

    def __init__(self, rep_in: Representation, rep_out: Representation, bias: bool = True) -> None:
        super().__init__()
        self.rep_in = _representation(rep_in, "rep_in")
        self.rep_out = _representation(rep_out, "rep_out")
        weights = equivariant_basis(rep_in, rep_out)
        biases = invariant_basis(rep_out) if flag(bias, "bias") else np.zeros((0, rep_out.dim))
        # bases stay float64 (exact to rounding) and are cast to the parameters' dtype when used
        self.register_buffer("weight_basis", torch.as_tensor(weights, dtype=torch.float64))
        self.register_buffer("bias_basis", torch.as_tensor(biases, dtype=torch.float64))
        self.weight_coefficients = nn.Parameter(torch.empty(weights.shape[0]))
        self.bias_coefficients = nn.Parameter(torch.empty(biases.shape[0]))
        self.reset_parameters()

    @property
    def num_weights(self) -> int:
        """Dimension of the space of equivariant matrices."""
        return int(self.weight_basis.shape[0])

    @property
    def num_bias(self) -> int:
        """Dimension of the invariant bias space used."""
        return int(self.bias_basis.shape[0])

    def reset_parameters(self) -> None:
        """Coefficients so that the weight has, on average, entry variance ``1 / (3 n_in)`` as
        `torch.nn.Linear` (the basis is orthonormal)."""
        n_out, n_in = self.rep_out.dim, self.rep_in.dim
        with torch.no_grad():
            std = math.sqrt(n_out / (3 * n_in * max(self.num_weights, 1)))
            self.weight_coefficients.normal_(0.0, std)
            self.bias_coefficients.normal_(0.0, 1.0 / math.sqrt(3 * n_in))

    @property
    def weight(self) -> torch.Tensor:
        """The materialised weight ``(n_out, n_in)``."""
        return torch.einsum(
            "d,doi->oi", self.weight_coefficients, self.weight_basis.to(self.weight_coefficients.dtype)
        )

    @property
    def bias(self) -> torch.Tensor:
        """The materialised (invariant) bias ``(n_out,)``."""
        return self.bias_coefficients @ self.bias_basis.to(self.bias_coefficients.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., n_in) -> (..., n_out)``."""
        tensor(x, "x", min_ndim=1, floating=True, nonempty=False)
        if x.shape[-1] != self.rep_in.dim:
            raise ValueError(f"RepLinear expects inputs (..., {self.rep_in.dim}) for x, got {tuple(x.shape)}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.rep_in.dim} -> {self.rep_out.dim}, weights={self.num_weights}, bias={self.num_bias}"
