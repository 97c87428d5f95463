"""`rescale_to_permutation`: the positive diagonal change of basis of Theorem 2 (Pacini et al. 2024).

A finite group of non-negative monomial matrices ``M`` is conjugate, by a positive diagonal ``D``, to a
group of permutation matrices: ``D M D^-1`` has entry ``d_i M_ij / d_j`` at ``(i, j)``, which is 1 when
``log d_j - log d_i = log M_ij``. Each non-zero entry of each generator is an edge ``i -> j`` of a graph
on the basis indices carrying that difference of log-scales; a breadth-first walk assigns the scales
and every other edge must agree. An edge that does not closes a cycle of the generators whose scales
multiply to something other than 1: then some group element has an eigenvalue off the unit circle and
the group is not finite (not compact), and no rescaling exists. Signed monomial matrices go the same
way on their absolute values and become signed permutations.

The scales of each connected component (each orbit of basis vectors) are normalised to geometric mean
1, so the paper's example ``[[0, 2], [1/2, 0]]`` gets ``D = diag(1/sqrt(2), sqrt(2))``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from eqlab.activations._basis_activation import BasisActivation
from eqlab.activations._classes import TOLERANCE, as_matrices, classify

__all__ = ["Rescaling", "rescale_to_permutation"]


@dataclass(frozen=True)
class Rescaling:
    """A positive diagonal change of basis making monomial matrices (signed) permutations."""

    scales: np.ndarray
    """``(n,)`` the diagonal of ``D``; new coordinates are ``D x``."""
    matrices: np.ndarray
    """``(k, n, n)`` the matrices in the new basis, ``D M D^-1``, with entries exactly 0 or +-1."""
    case: str
    """``"permutation"`` or ``"signed permutation"``: the class of the rescaled matrices."""

    @property
    def change_of_basis(self) -> np.ndarray:
        """``(n, n)`` the matrix ``D``."""
        return np.diag(self.scales)

    def activation(self, f: Callable[[torch.Tensor], torch.Tensor]) -> nn.Module:
        """``f`` applied entry-wise in the rescaled basis, ``x -> D^-1 f(D x)`` on the last axis of
        ``(..., n)``: a module that commutes with the group for any continuous ``f`` when ``case`` is
        ``"permutation"``, and for odd ``f`` when it is ``"signed permutation"``."""
        return BasisActivation(self.change_of_basis, f)


def rescale_to_permutation(matrices: Any) -> Rescaling:
    """The positive diagonal ``D`` with ``D M D^-1`` a (signed) permutation for every matrix.

    Parameters
    ----------
    matrices
        ``(k, n, n)`` monomial matrices (of generators or of all elements) of a finite group, or an
        `eqlab.groups.Representation`.

    Returns
    -------
    Rescaling
        The scales ``(n,)`` of ``D`` and the rescaled matrices; ``.activation(f)`` applies ``f`` in the new
        basis.

    Raises
    ------
    ValueError
        When a matrix is not monomial (no diagonal rescaling can help), or when the scales along a cycle
        of the generators do not multiply to 1 (the group is infinite); the message names the matrix and
        the entry.

    Examples
    --------
    >>> rescaled = rescale_to_permutation(np.array([[[0.0, 2.0], [0.5, 0.0]]]))
    >>> np.round(rescaled.scales ** 2, 12).tolist(), rescaled.matrices[0].tolist()
    ([0.5, 2.0], [[0.0, 1.0], [1.0, 0.0]])

    tanh does not commute with these scales, but it does in the rescaled basis:

    >>> import torch
    >>> m = torch.tensor([[0.0, 2.0], [0.5, 0.0]], dtype=torch.float64)
    >>> x = torch.randn(5, 2, dtype=torch.float64)
    >>> fixed = rescaled.activation(torch.tanh)
    >>> torch.allclose(torch.tanh(x @ m.T), torch.tanh(x) @ m.T)
    False
    >>> torch.allclose(fixed(x @ m.T), fixed(x) @ m.T, rtol=0, atol=1e-12)
    True
    """
    mats = as_matrices(matrices)
    cls = classify(mats)
    if cls.case in ("unit-row-sum", "general"):
        j, row, col, value = cls.witness or (0, 0, 0, 0.0)
        raise ValueError(
            f"matrices must be monomial (one non-zero per row and column) to be rescaled; matrix {j} has "
            f"another non-zero {value:.6g} in row {row} (column {col}), so it is {cls.case!r}"
        )
    n = mats.shape[-1]
    edges: list[list[tuple[int, float, int]]] = [[] for _ in range(n)]  # i -> (j, log|M_ij|, matrix)
    for index, mat in enumerate(mats):
        for i, j in np.argwhere(np.abs(mat) > TOLERANCE):
            weight = math.log(abs(float(mat[i, j])))
            edges[int(i)].append((int(j), weight, index))
            edges[int(j)].append((int(i), -weight, index))
    log_scale = np.full(n, np.nan)
    component = np.full(n, -1)
    for root in range(n):
        if component[root] >= 0:
            continue
        component[root], log_scale[root] = root, 0.0
        queue = deque([root])
        while queue:
            i = queue.popleft()
            for j, weight, index in edges[i]:
                wanted = log_scale[i] + weight
                if component[j] < 0:
                    component[j], log_scale[j] = root, wanted
                    queue.append(j)
                elif abs(log_scale[j] - wanted) > 1e3 * TOLERANCE * max(1.0, abs(wanted)):
                    factor = math.exp(wanted - log_scale[j])
                    raise ValueError(
                        "matrices admit no positive diagonal rescaling: around a cycle through matrix "
                        f"{index}, basis vectors {i} and {j}, the scales multiply to {factor:.6g}, not 1, so "
                        "the matrices generate an infinite group"
                    )
    for root in np.unique(component):
        members = component == root
        log_scale[members] -= log_scale[members].mean()
    scales = np.exp(log_scale)
    rescaled = scales[None, :, None] * mats / scales[None, None, :]
    rescaled = np.where(np.abs(rescaled) > TOLERANCE, np.sign(rescaled), 0.0)
    case = "signed permutation" if (rescaled < 0).any() else "permutation"
    return Rescaling(scales, rescaled, case)
