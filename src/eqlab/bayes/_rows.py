"""The rows of KFAC-expand: each factored layer as a Linear map ``s = W a (+ b)`` applied to rows.

- `torch.nn.Linear`: one row per data point (and per leading index);
- `BlockLinear`: one row per data point and block, the blocks kept apart ``(R, blocks, D)``;
- `torch.nn.Conv2d` (groups=1): one row per (data point, output position): the unfolded patch, ``D =
  C_in k k``;
- `eqlab.gconv.LiftingConv2d` / `GroupConv2d`: the folded bank is the free filters ``W (C_out, C_in |G_in|
  k k)`` gathered by the layer's fixed ``weight_index``, a permutation ``pi_g`` of the ``|G_in| k k``
  filter taps per output orientation ``g``. So output ``(c, g, position)`` is ``W[c] . a_g`` with ``a_g``
  the folded input patch with its taps permuted by ``pi_g^{-1}``: one row per (data point, output
  orientation, output position), ``D = C_in |G_in| k k``, ``R = N |G| H' W'`` rows. The output rows are
  the ``C_out`` back-propagated values at each (data point, orientation, position); the bias (one per
  ``c``, shared over ``g``) is the weight of a constant input 1, so its block is the same ``G``.

The input rows of a G-conv are given as the unfolded patches ``(R', D)`` and an orbit index ``(|G|, D)``:
the layer's rows are ``patches[:, orbit[g]]`` for every ``g``, so ``sum_rows a a^T = sum_g M[orbit[g]][:,
orbit[g]]`` with ``M = patches^T patches``, one matrix product instead of ``|G|`` (`LayerFactors`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from eqlab.gconv._conv import GroupConv2d, LiftingConv2d
from eqlab.nn._primitives import BlockLinear

__all__ = ["input_rows", "orbit_index", "output_outer", "output_rows"]


def _patches(
    module: nn.Module,
    a: torch.Tensor,
    kernel: tuple[int, int],
    stride: Any,
    padding: Any,
    dilation: Any,
    padding_mode: str,
    reversed_padding: Any,
) -> torch.Tensor:
    """``(N L, D)`` unfolded patches of ``a`` ``(N, C, H, W)``, one per output position."""
    if padding_mode != "zeros":
        a = F.pad(a, reversed_padding, mode=padding_mode)
        padding = 0
    if isinstance(padding, str):
        raise ValueError(f"padding={padding!r} is not supported by the Kronecker factors; give it in pixels")
    patches = F.unfold(a, kernel, dilation=dilation, padding=padding, stride=stride)
    return _rows_of(patches)


def _rows_of(x: torch.Tensor) -> torch.Tensor:
    """``(N, D, ...) -> (N ..., D)`` rows, as the transposed view of a contiguous ``(D, N ...)`` copy, so
    that ``rows.T @ rows`` runs on contiguous memory."""
    return x.transpose(0, 1).reshape(x.shape[1], -1).T


def input_rows(module: nn.Module, a: torch.Tensor) -> torch.Tensor:
    """``(R, D)`` input rows of a layer (``(R, blocks, D)`` for a `BlockLinear`); for a G-conv the
    unfolded patches, to be expanded by `orbit_index`."""
    if isinstance(module, nn.Linear):
        return a.reshape(-1, a.shape[-1])
    if isinstance(module, BlockLinear):
        return a.reshape(-1, module.blocks, a.shape[-1])
    if isinstance(module, (LiftingConv2d, GroupConv2d)):
        folded = a if isinstance(module, LiftingConv2d) else a.flatten(1, 2)
        ph, pw = module.padding
        return _patches(
            module,
            folded,
            (module.kernel_size, module.kernel_size),
            module.stride,
            module.padding,
            module.dilation,
            module.padding_mode,
            (pw, pw, ph, ph),
        )
    assert isinstance(module, nn.Conv2d)
    return _patches(
        module,
        a,
        module.kernel_size,  # type: ignore[arg-type]
        module.stride,
        module.padding,
        module.dilation,
        module.padding_mode,
        module._reversed_padding_repeated_twice,
    )


def orbit_index(module: LiftingConv2d | GroupConv2d) -> torch.Tensor:
    """``(|G|, C_in |G_in| k k)``: the row of output orientation ``g`` is ``patch[orbit[g]]``.

    The bank of orientation ``g`` takes free tap ``weight_index[g, p]`` at its tap ``p``, so the free
    tap ``j`` multiplies the patch's tap ``pi_g^{-1}(j)``; per input channel the taps are contiguous in
    the unfolded patch (channel-major, as ``conv2d``'s folded input ``c * |G_in| + h``)."""
    n = module.group.order
    index = module.weight_index.view(n, -1)
    taps = index.shape[1]
    inverse = index.argsort(dim=1)
    if not bool((index.gather(1, inverse) == torch.arange(taps, device=index.device)).all()):
        raise ValueError(
            f"{type(module).__name__}'s weight_index must permute the filter taps per orientation for the "
            "Kronecker factors, got one that does not"
        )
    channels = torch.arange(module.in_channels, device=index.device)[:, None] * taps
    return (channels[None] + inverse[:, None, :]).reshape(n, -1)


def output_rows(module: nn.Module, g: torch.Tensor) -> torch.Tensor:
    """``(R, D_out)`` back-propagated output rows (``(R, blocks, D_out)`` for a `BlockLinear`); for a
    G-conv output ``(N, C_out, |G|, H', W')`` one row per (data point, orientation, position)."""
    if isinstance(module, nn.Linear):
        return g.reshape(-1, g.shape[-1])
    if isinstance(module, BlockLinear):
        return g.reshape(-1, module.blocks, g.shape[-1])
    return _rows_of(g)


def output_outer(module: nn.Module, g: torch.Tensor) -> torch.Tensor:
    """``sum_rows r r^T`` of `output_rows` in float64 (the product in ``g``'s dtype). For a convolution's
    ``(N, C_out, ...)`` output, one batched product per data point over its positions, without copying
    ``g`` into rows, while the ``N`` partial ``C_out x C_out`` sums stay small."""
    if g.dim() > 2 and not isinstance(module, (nn.Linear, BlockLinear)):
        x = g.flatten(2)
        if x.shape[1] <= 4 * x.shape[2]:
            return torch.bmm(x, x.transpose(1, 2)).sum(0).double()
    rows = output_rows(module, g)
    outer = rows.T @ rows if rows.dim() == 2 else torch.einsum("rgi,rgj->gij", rows, rows)
    return outer.double()
