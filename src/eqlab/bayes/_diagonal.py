"""The exact diagonal of the GGN for batch norm's affine parameters, in eval mode.

With its running statistics (eval mode, as during the whole curvature pass), a batch norm is the
per-channel affine map ``y = gamma xhat + beta`` of ``xhat = (x - running_mean) / sqrt(running_var +
eps)``, so each data point's output depends on that data point only. The GGN's diagonal is then

    diag_gamma[c] = sum_n sum_k (sum_pos g_{n,k,c,pos} xhat_{n,c,pos})^2,
    diag_beta[c]  = sum_n sum_k (sum_pos g_{n,k,c,pos})^2,

with ``g_{n,k}`` the column ``k`` of the output Hessian's square root back-propagated to the layer's
output: the per-data-point gradients of each column, squared. It is exact (no Kronecker approximation),
but the off-diagonal entries between channels and between ``gamma`` and ``beta`` are dropped. The
batch statistics of training mode are not used: a batch norm without running statistics is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["NORMS", "DiagonalFactors", "check_norm"]

NORMS = (nn.BatchNorm2d, nn.BatchNorm3d)
"""The batch norms with a diagonal GGN: `torch.nn.BatchNorm2d` and `nn.BatchNorm3d`, which includes
`eqlab.gconv.GroupBatchNorm2d` (statistics shared over the group axis)."""


def check_norm(name: str, module: _BatchNorm) -> None:
    """Refuse a batch norm without running statistics (its eval mode normalises by the batch)."""
    if module.running_mean is None or module.running_var is None:
        raise ValueError(
            f"model has a batch norm KronLaplace cannot use: {name!r} ({type(module).__name__}) keeps no "
            "running statistics (track_running_stats=False), and its GGN is computed in eval mode with them"
        )


@dataclass
class DiagonalFactors:
    """Running sums of the squared per-data-point gradients of a batch norm's ``weight`` and ``bias``
    (``(C,)`` each, float64; ``None`` for a missing or frozen parameter)."""

    name: str
    module: _BatchNorm
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None

    def add_output_grads(self, a: torch.Tensor, g: torch.Tensor) -> None:
        """``a``: the layer's input ``(N, C, ...)``; ``g``: one back-propagated column at its output."""
        module = self.module
        assert module.running_mean is not None and module.running_var is not None
        n, c = g.shape[:2]
        flat = g.reshape(n, c, -1)
        if module.weight is not None and module.weight.requires_grad:
            shape = (1, c, 1)
            mean = module.running_mean.to(a.dtype).view(shape)
            scale = torch.rsqrt(module.running_var.to(a.dtype) + module.eps).view(shape)
            xhat = (a.reshape(n, c, -1) - mean) * scale
            square = (flat * xhat).sum(2).double().pow(2).sum(0)
            self.weight = square if self.weight is None else self.weight + square
        if module.bias is not None and module.bias.requires_grad:
            square = flat.sum(2).double().pow(2).sum(0)
            self.bias = square if self.bias is None else self.bias + square
