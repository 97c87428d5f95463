"""Set- and graph-size-generic S_n-equivariant layers (Deep Sets; invariant graph networks).

S_n acts on tensors of order ``r`` (``n**r`` entries: a set is order 1, a graph's adjacency order 2)
by permuting every index at once. The orbits of S_n on (output tuple, input tuple) pairs are the
*equality patterns* of the ``l + r`` indices, i.e. the set partitions of ``l + r`` positions (with at
most ``n`` blocks). So the dense parameter-sharing layer of `EquivariantLinear` has one weight per
partition, a number that does not depend on ``n``: one trained layer runs on any set or graph size.
Sets (1 -> 1): 2 weights, Deep Sets; graphs (2 -> 2): 15 weights (Maron et al., ICLR 2019).

The orbit basis ``B_pi`` (equalities exactly those of ``pi``) is applied through the basis ``A_sigma``
("at least the equalities of sigma", one einsum each, O(n^2) for order 2) by Möbius inversion on the
partition lattice, ``B_pi = sum_{sigma >= pi} mu(pi, sigma) A_sigma``, with
``mu(pi, sigma) = prod over blocks of sigma of (-1)^(k-1) (k-1)!``, ``k`` the blocks of ``pi`` it merges.
With ``aggregation="sum"`` the layer equals `EquivariantLinear` on ``on_tuples(symmetric(n), r)`` with
the same weights; ``"mean"`` divides each summed index by ``n``, which keeps it equivariant and keeps
activations of the same scale across sizes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from functools import cache

import numpy as np
import torch
from torch import nn

from eqlab._arguments import choice, describe, flag, integer, tensor

__all__ = ["GraphLinear", "SetLinear", "SymmetricLinear", "equality_pattern", "set_partitions"]

_LETTERS = "abdefghijk"  # block letters; "c" is the channel axis


def set_partitions(size: int) -> list[tuple[int, ...]]:
    """All set partitions of ``size`` positions as restricted growth strings (block ids in order of first
    appearance), e.g. ``(0, 1, 0)`` puts positions 0 and 2 together. Bell(size) of them."""
    size = integer(size, "size", minimum=0)

    def grow(prefix: tuple[int, ...], blocks: int) -> Iterator[tuple[int, ...]]:
        if len(prefix) == size:
            yield prefix
            return
        for b in range(blocks + 1):
            yield from grow((*prefix, b), max(blocks, b + 1))

    return list(grow((), 0))


def equality_pattern(indices: Sequence[int]) -> tuple[int, ...]:
    """The partition of positions by equal values, as a restricted growth string.

    >>> equality_pattern([5, 2, 5, 7])
    (0, 1, 0, 2)
    """
    if isinstance(indices, (str, bytes)) or not isinstance(indices, (Sequence, np.ndarray, torch.Tensor)):
        raise TypeError(f"indices must be a sequence of integers, got {describe(indices)}")
    values = [integer(v, f"indices[{i}]") for i, v in enumerate(indices)]
    first: dict[int, int] = {}
    return tuple(first.setdefault(v, len(first)) for v in values)


def _finer(pi: tuple[int, ...], sigma: tuple[int, ...]) -> bool:
    return all(sigma[a] == sigma[b] for a in range(len(pi)) for b in range(a) if pi[a] == pi[b])


def _mobius(pi: tuple[int, ...], sigma: tuple[int, ...]) -> int:
    merged: dict[int, set[int]] = {}
    for p, s in zip(pi, sigma, strict=True):
        merged.setdefault(s, set()).add(p)
    return math.prod((-1) ** (len(b) - 1) * math.factorial(len(b) - 1) for b in merged.values())


@cache
def _mobius_matrix(size: int) -> torch.Tensor:
    parts = set_partitions(size)
    mat = torch.zeros(len(parts), len(parts), dtype=torch.float64)
    for i, sigma in enumerate(parts):
        for j, pi in enumerate(parts):
            if _finer(pi, sigma):
                mat[i, j] = _mobius(pi, sigma)
    return mat


class SymmetricLinear(nn.Module):
    """The most general linear S_n-equivariant map from order-``in_order`` to order-``out_order`` tensors,
    for every ``n`` at once.

    Maps ``(..., n, in_channels)`` (order 1) or ``(..., n, n, in_channels)`` (order 2) to
    ``(..., out_channels)``, ``(..., n, out_channels)`` or ``(..., n, n, out_channels)`` for output order
    0, 1 or 2.

    Parameters
    ----------
    in_order
        Order of the input tensor: 1 (sets) or 2 (graphs).
    out_order
        Order of the output: 0 (invariant), 1 or 2.
    in_channels, out_channels
        Feature channels, last axis.
    bias
        Add a bias tied over the output orbits (one per output-equality pattern).
    aggregation
        ``"sum"`` (exactly the parameter-sharing layer) or ``"mean"`` (summed indices averaged).

    Examples
    --------
    >>> layer = SymmetricLinear(2, 2, 3, 4)
    >>> layer.num_weights            # Bell(4) partitions: Maron et al.'s 15 basis elements
    15
    >>> layer(torch.randn(8, 5, 5, 3)).shape, layer(torch.randn(8, 9, 9, 3)).shape
    (torch.Size([8, 5, 5, 4]), torch.Size([8, 9, 9, 4]))
    """

    in_order: int
    """Order of the input tensor: 1 or 2."""
    out_order: int
    """Order of the output tensor: 0, 1 or 2."""
    in_channels: int
    """Input channels, the last axis of the input."""
    out_channels: int
    """Output channels, the last axis of the output."""
    aggregation: str
    """``"sum"`` or ``"mean"``: how the summed indices are aggregated."""
    partitions: list[tuple[int, ...]]
    """The set partitions of the ``out_order + in_order`` indices (output indices first), one per orbit
    weight, as restricted growth strings (see `num_weights`)."""
    weight: nn.Parameter
    """``(num_weights, out_channels, in_channels)``: one channel block per partition."""
    bias: nn.Parameter | None
    """``(2, out_channels)`` for output order 2 (the diagonal, then the off-diagonal entries), else
    ``(1, out_channels)``; ``None`` without bias."""

    def __init__(
        self,
        in_order: int,
        out_order: int,
        in_channels: int,
        out_channels: int,
        bias: bool = True,
        aggregation: str = "sum",
    ) -> None:
        super().__init__()
        if integer(in_order, "in_order") not in (1, 2):
            raise ValueError(f"in_order must be 1 or 2, got {in_order!r}")
        if integer(out_order, "out_order") not in (0, 1, 2):
            raise ValueError(f"out_order must be 0, 1 or 2, got {out_order!r}")
        in_order, out_order = int(in_order), int(out_order)
        in_channels = integer(in_channels, "in_channels", minimum=1)
        out_channels = integer(out_channels, "out_channels", minimum=1)
        bias = flag(bias, "bias")
        aggregation = choice(aggregation, "aggregation", ("sum", "mean"))
        self.in_order, self.out_order = in_order, out_order
        self.in_channels, self.out_channels = in_channels, out_channels
        self.aggregation = aggregation
        self.partitions = set_partitions(out_order + in_order)
        self.register_buffer("mobius", _mobius_matrix(out_order + in_order).float(), persistent=False)
        self.weight = nn.Parameter(torch.empty(len(self.partitions), out_channels, in_channels))
        num_bias = 2 if out_order == 2 else 1
        self.bias = nn.Parameter(torch.empty(num_bias, out_channels)) if bias else None
        self.reset_parameters()

    @property
    def num_weights(self) -> int:
        """Number of orbit weights (partitions), independent of ``n``."""
        return len(self.partitions)

    def reset_parameters(self) -> None:
        """Uniform init, bound ``1/sqrt(num_weights * in_channels)``."""
        bound = 1.0 / math.sqrt(self.num_weights * self.in_channels)
        with torch.no_grad():
            self.weight.uniform_(-bound, bound)
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)

    def _at_least(self, sigma: tuple[int, ...], x: torch.Tensor) -> torch.Tensor:
        """Apply ``A_sigma`` to ``x`` of shape ``(B, n, [n,] C)``: sum over inputs whose indices satisfy the
        equalities of ``sigma`` with the output indices. Returns ``(B, [n, [n,]] C)``."""
        order, n = self.out_order, x.shape[1]
        out_letters = [_LETTERS[b] for b in sigma[:order]]
        in_letters = "".join(_LETTERS[b] for b in sigma[order:])
        kept = "".join(dict.fromkeys(ch for ch in out_letters if ch in in_letters))
        z = torch.einsum(f"...{in_letters}c->...{kept}c", x)
        if self.aggregation == "mean":
            z = z / n ** len(set(in_letters) - set(kept))
        if order == 0:
            return z
        if order == 1 or out_letters[0] == out_letters[1]:
            vector = z if kept else z.unsqueeze(1).expand(-1, n, -1)
            if order == 1:
                return vector
            return torch.diag_embed(vector.transpose(1, 2)).permute(0, 2, 3, 1)
        a, b = out_letters
        if a not in kept:
            z = z.unsqueeze(1)
        if b not in kept:
            z = z.unsqueeze(2)
        return z.expand(-1, n, n, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., n, [n,] in_channels) -> (..., [n, [n,]] out_channels)``."""
        r = self.in_order
        tensor(x, "x", floating=True, nonempty=False)
        if x.dim() < r + 1 or x.shape[-1] != self.in_channels or len(set(x.shape[-r - 1 : -1])) != 1:
            raise ValueError(
                f"SymmetricLinear(in_order={r}) expects inputs x of shape (..., {', '.join(['n'] * r)}, "
                f"{self.in_channels}), got {tuple(x.shape)}"
            )
        batch = x.shape[: -r - 1]
        flat = x.reshape(-1, *x.shape[-r - 1 :])
        n = flat.shape[1]
        coefficients = torch.einsum("sp,poc->soc", self.mobius.to(x.dtype), self.weight)
        terms = torch.stack([self._at_least(sigma, flat) for sigma in self.partitions])
        y = torch.einsum("p...c,poc->...o", terms, coefficients)
        if self.bias is not None:
            if self.out_order == 2:
                eye = torch.eye(n, dtype=x.dtype, device=x.device)[None, :, :, None]
                y = y + self.bias[1] + eye * (self.bias[0] - self.bias[1])
            else:
                y = y + self.bias[0]
        return y.reshape(*batch, *y.shape[1:])

    def extra_repr(self) -> str:
        return (
            f"in_order={self.in_order}, out_order={self.out_order}, in_channels={self.in_channels}, "
            f"out_channels={self.out_channels}, aggregation={self.aggregation!r}"
        )


class SetLinear(SymmetricLinear):
    """The Deep Sets layer ``y_i = Lambda x_i + Gamma sum_{j != i} x_j + b`` for sets of any size:
    ``(..., n, in_channels) -> (..., n, out_channels)`` (`SymmetricLinear` of order 1 -> 1).

    Parameters
    ----------
    in_channels, out_channels, bias, aggregation
        As `SymmetricLinear`.
    """

    def __init__(
        self, in_channels: int, out_channels: int, bias: bool = True, aggregation: str = "sum"
    ) -> None:
        super().__init__(1, 1, in_channels, out_channels, bias=bias, aggregation=aggregation)


class GraphLinear(SymmetricLinear):
    """The 15-weight invariant-graph-network layer on tensors of any ``n``:
    ``(..., n, n, in_channels) -> (..., n, n, out_channels)`` (`SymmetricLinear` of order 2 -> 2).

    Parameters
    ----------
    in_channels, out_channels, bias, aggregation
        As `SymmetricLinear`.
    """

    def __init__(
        self, in_channels: int, out_channels: int, bias: bool = True, aggregation: str = "sum"
    ) -> None:
        super().__init__(2, 2, in_channels, out_channels, bias=bias, aggregation=aggregation)
