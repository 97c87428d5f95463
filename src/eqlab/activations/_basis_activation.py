"""`BasisActivation`: a pointwise activation applied in another basis, ``x -> T^-1 f(T x)``.

With the change of basis ``T`` that `eqlab.activations.permutation_basis` or
`eqlab.activations.rescale_to_permutation` finds, every matrix of the group becomes a (signed)
permutation, and any continuous ``f`` (odd ``f`` for signed ones) commutes with it there; users get one
from `PermutationBasis.activation` and `Rescaling.activation`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from eqlab._arguments import describe, tensor

__all__ = ["BasisActivation"]


def _change_of_basis(value: Any) -> np.ndarray:
    """``value`` as an invertible ``(n, n)`` float64 matrix."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if not isinstance(value, (np.ndarray, list, tuple)):
        raise TypeError(
            f"change_of_basis must be an (n, n) matrix (array, tensor or nested list), got {describe(value)}"
        )
    try:
        arr = np.asarray(value)
        if np.iscomplexobj(arr) or not (arr.size == 0 or np.issubdtype(arr.dtype, np.number)):
            raise TypeError
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"change_of_basis must be an (n, n) matrix of real numbers, got {describe(value)}"
        ) from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"change_of_basis must be a square (n, n) matrix with n >= 1, got {describe(arr)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"change_of_basis must hold only finite values, got {describe(arr)} with NaN or Inf")
    condition = float(np.linalg.cond(arr))
    if not condition < 1e12:
        raise ValueError(
            f"change_of_basis must be invertible, got a matrix with condition number {condition:.3g}"
        )
    return arr


class BasisActivation(nn.Module):
    """A pointwise activation applied in another basis: ``x -> T^-1 f(T x)`` on the last axis ``n``.

    With the ``T`` of `permutation_basis` (or the diagonal of `rescale_to_permutation`) it commutes with
    the group for any continuous ``f``.
    """

    forward_map: torch.Tensor
    inverse_map: torch.Tensor

    def __init__(self, change_of_basis: Any, activation: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        if not callable(activation) or isinstance(activation, type):
            raise TypeError(
                f"activation must be a torch module or a function applied entry-wise, such as nn.ReLU(), "
                f"got {describe(activation)}"
            )
        t = torch.as_tensor(_change_of_basis(change_of_basis), dtype=torch.float64)
        self.register_buffer("forward_map", t)
        self.register_buffer("inverse_map", torch.linalg.inv(t))
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., n) -> (..., n)``."""
        tensor(x, "x", min_ndim=1, floating=True, nonempty=False)
        if x.shape[-1] != self.forward_map.shape[0]:
            raise ValueError(
                f"BasisActivation expects x of shape (..., {self.forward_map.shape[0]}), got {tuple(x.shape)}"
            )
        t = self.forward_map.to(x.dtype)
        return self.activation(x @ t.T) @ self.inverse_map.to(x.dtype).T
