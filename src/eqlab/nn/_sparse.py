"""Sparsified soft-equivariant paths (van der Ouderaa et al. 2023): weights given by their values at a
few anchor points, interpolated by an RBF kernel.

An anchor set ``Z`` (``M`` points drawn uniformly in the coordinate box of a grid) and the kernel
``k(a, b) = s^2 exp(-omega^2 |a - b|^2 / 2)`` define the interpolation matrix
``R = (K_ZZ + sigma^2 I)^-1 K_Z,grid`` (``M x P``), so a weight is ``anchor_values @ R`` (the paper's
posterior-mean interpolation; defaults ``omega = s = 1``, ``sigma = 0.01``).

Because ``R`` is fixed, each path is rewritten as a fixed linear map of the activations and a small
trainable layer on the anchor values:

- ``s-fc``: the factored layer with ``U = U_anchor R_in`` (over input positions) and
  ``V = R_out^T V_anchor`` (over output positions): project each channel's input map onto the input
  anchors, apply two `BlockLinear` maps on anchor values, interpolate to the output positions;
- ``s-conv``: a 3 x 3 filter ``A R`` from anchors in filter coordinates: a fixed depthwise
  convolution with the ``M`` interpolated basis filters, then a 1 x 1 convolution holding the anchor
  values.

The trainable parameters are exactly the anchor values, and the layers carrying them are ordinary
`BlockLinear` and ``Conv2d`` layers, so `eqlab.bayes` computes their Kronecker factors (and prior
precisions) for the anchor values directly: the curvature of the linear map is part of the
activations and back-propagated gradients those layers see.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from eqlab._arguments import real
from eqlab.nn._primitives import (
    BlockLinear,
    block_geometry,
    block_size,
    check_block_input,
    polyphase_subsample,
)

__all__ = ["SparseConv", "SparseDense", "grid_points", "rbf_interpolation"]


def grid_points(height: int, width: int) -> torch.Tensor:
    """``(height * width, 2)`` row-major pixel coordinates."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=1).double()


def rbf_interpolation(
    anchors: torch.Tensor, points: torch.Tensor, omega: float = 1.0, scale: float = 1.0, noise: float = 0.01
) -> torch.Tensor:
    """``(M, P)`` matrix mapping values at ``anchors`` ``(M, 2)`` to ``points`` ``(P, 2)``."""

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return scale**2 * torch.exp(-0.5 * omega**2 * torch.cdist(a, b) ** 2)

    k_zz = kernel(anchors, anchors) + noise**2 * torch.eye(len(anchors), dtype=anchors.dtype)
    return torch.linalg.solve(k_zz, kernel(anchors, points))


def _anchors(count: int, height: int, width: int) -> torch.Tensor:
    """``count`` points uniform in the box ``[0, height - 1] x [0, width - 1]`` (torch's global RNG)."""
    return torch.rand(count, 2, dtype=torch.float64) * torch.tensor(
        [height - 1, width - 1], dtype=torch.float64
    )


class SparseDense(nn.Module):
    """The ``s-fc`` path: ``(B, C, H, W) -> (B, C', H / s, W / s)`` through anchor values.

    The anchor points are drawn with torch's global random generator.

    Parameters
    ----------
    c_in, c_out
        Input and output channels, ``C`` and ``C'``.
    size
        Input height and width ``H = W``, divisible by ``stride``.
    stride
        ``s``: 1 or 2.
    factor
        Anchors per position: ``M_in = round(factor * H * W)`` on the input grid and
        ``M_out = round(factor * (H / s) * (W / s))`` on the output grid, at least one each.
    """

    projection_in: torch.Tensor
    """``(M_in, H * W)`` float32 buffer: the interpolation from the input anchors to the input grid; its
    transpose projects each input channel's map onto the anchors."""
    interpolation_out: torch.Tensor
    """``(M_out, (H / s) * (W / s))`` float32 buffer: the interpolation from the output anchors to the
    output grid."""

    def __init__(self, c_in: int, c_out: int, size: int, stride: int, factor: float = 0.5) -> None:
        super().__init__()

        c_in, c_out, stride = block_geometry(c_in, c_out, stride)
        size = block_size(size, stride)
        factor = real(factor, "factor", positive=True)
        self.c_in, self.size = c_in, size
        self.c_out, self.size_out = c_out, size // stride
        m_in = max(1, round(factor * size * size))
        m_out = max(1, round(factor * self.size_out**2))
        r_in = rbf_interpolation(_anchors(m_in, size, size), grid_points(size, size))  # (M_in, X)
        r_out = rbf_interpolation(
            _anchors(m_out, self.size_out, self.size_out), grid_points(self.size_out, self.size_out)
        )  # (M_out, Y)
        self.register_buffer("projection_in", r_in.float())
        self.register_buffer("interpolation_out", r_out.float())
        self.u = BlockLinear(c_in, m_in, c_out, bias=False)
        """The anchor values of ``U``, per input channel: weight ``(C, C', M_in)``, no bias."""
        self.v = BlockLinear(c_out, c_in, m_out)
        """The anchor values of ``V``, per output channel: weight ``(C', M_out, C)``, bias ``(C', M_out)``."""
        with torch.no_grad():  # least-squares fit of a Kaiming-initialised factored layer
            u_full = torch.empty(c_in, c_out, size * size, dtype=torch.float64).uniform_(-1, 1) * math.sqrt(
                6.0 / (size * size)
            )
            self.u.weight.copy_(u_full @ torch.linalg.pinv(r_in))
            v_full = torch.empty(c_out, self.size_out**2, c_in, dtype=torch.float64).uniform_(
                -1, 1
            ) * math.sqrt(6.0 / c_in)
            self.v.weight.copy_(torch.linalg.pinv(r_out.T) @ v_full)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, C', H / s, W / s)``."""
        check_block_input(x, "SparseDense", self.c_in, self.size)
        projected = x.flatten(2) @ self.projection_in.to(x.dtype).T  # (B, C, M_in)
        t = self.u(projected)  # (B, C, C')
        values = self.v(t.transpose(1, 2))  # (B, C', M_out)
        out = values @ self.interpolation_out.to(x.dtype)  # (B, C', Y)
        return out.view(-1, self.c_out, self.size_out, self.size_out)


class SparseConv(nn.Module):
    """The ``s-conv`` path: a circular 3 x 3 convolution whose filters are anchor values interpolated
    over the filter grid, then polyphase subsampling for stride 2: ``(B, C, H, W) -> (B, C', H / s, W / s)``.

    The anchor points are drawn with torch's global random generator.

    Parameters
    ----------
    c_in, c_out
        Input and output channels, ``C`` and ``C'``.
    stride
        ``s``: 1 or 2.
    factor
        Anchors per filter position: ``M = round(9 * factor)`` anchors in the 3 x 3 filter, at least one.
    """

    basis: torch.Tensor
    """``(C * M, 1, 3, 3)`` float32 buffer: the ``M`` interpolated basis filters, repeated for each input
    channel (a fixed depthwise convolution)."""

    def __init__(self, c_in: int, c_out: int, stride: int, factor: float = 0.5) -> None:
        super().__init__()
        c_in, c_out, stride = block_geometry(c_in, c_out, stride)
        factor = real(factor, "factor", positive=True)
        self.c_in, self.stride = c_in, stride
        m = max(1, round(factor * 9))
        r = rbf_interpolation(_anchors(m, 3, 3), grid_points(3, 3))  # (M, 9)
        self.m = m
        """``M``, the anchors per filter."""
        self.register_buffer("basis", r.float().view(m, 1, 3, 3).repeat(c_in, 1, 1, 1))
        self.mix = nn.Conv2d(c_in * m, c_out, 1)
        """The 1 x 1 convolution holding the anchor values: weight ``(C', C * M, 1, 1)``, bias ``(C',)``."""
        with torch.no_grad():
            w_full = torch.empty(c_out, c_in, 9, dtype=torch.float64).uniform_(-1, 1) * math.sqrt(
                6.0 / (9 * c_in)
            )
            anchors = w_full @ torch.linalg.pinv(r)  # (C', C, M)
            self.mix.weight.copy_(anchors.reshape(c_out, c_in * m, 1, 1))
            assert self.mix.bias is not None
            self.mix.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, C', H / s, W / s)``."""
        check_block_input(x, "SparseConv", self.c_in, None)
        features = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), self.basis.to(x.dtype), groups=self.c_in)
        out = self.mix(features)
        return polyphase_subsample(out) if self.stride == 2 else out

    def effective_weight(self) -> torch.Tensor:
        """``(C', C, 3, 3)``: the interpolated filters."""
        anchors = self.mix.weight.view(self.mix.out_channels, self.c_in, self.m)
        return torch.einsum("ocm,mk->ock", anchors, self.basis[: self.m].view(self.m, 9)).view(
            self.mix.out_channels, self.c_in, 3, 3
        )
