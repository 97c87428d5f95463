"""The small plain modules an exported model is built from, where no `torch.nn` module fits.

Each holds only torch tensors, Python numbers and, where the source layer had one, the submodules it
wraps; its forward uses torch operations only, so it runs, traces, compiles and exports to ONNX without
eqlab. Each one computes exactly the operations of the eqlab layer it stands for, in the same order, so
the exported numbers match to rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = [
    "Apply",
    "BlockMatmul",
    "FixedMatmul",
    "GroupFolded",
    "GroupReduce",
    "ImageOrbitMean",
    "OrbitMean",
    "PathAverage",
    "PolyphaseSubsample",
    "SwapAxes",
    "Unsqueeze",
]


class GroupFolded(nn.Module):
    """A plain 2-D layer applied to group feature maps with the group axis folded into the channels,
    channel-major (the layout of `eqlab.gconv._conv`: channel ``c * |G| + g``).

    With ``fold_input``: ``(B, C, |G|, H, W) -> inner((B, C |G|, H, W)) -> (B, C', |G|, H', W')``, the
    group order read from the input (``order`` is then informative only). Without (a lifting
    convolution): ``(B, C, H, W) -> inner(x)`` unfolded into ``(B, C', order, H', W')``.
    """

    def __init__(self, inner: nn.Module, fold_input: bool, order: int | None = None) -> None:
        super().__init__()
        self.inner = inner
        self.fold_input = fold_input
        self.order = order

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fold_input:
            out = self.inner(x.flatten(1, 2))
            return out.unflatten(1, (-1, x.shape[2]))
        assert self.order is not None
        return self.inner(x).unflatten(1, (-1, self.order))

    def extra_repr(self) -> str:
        return f"fold_input={self.fold_input}" + ("" if self.order is None else f", order={self.order}")


class GroupReduce(nn.Module):
    """Max or mean over the group axis: ``(B, C, |G|, H, W) -> (B, C, H, W)``."""

    def __init__(self, reduce: str) -> None:
        super().__init__()
        self.reduce = reduce

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=2) if self.reduce == "max" else x.mean(dim=2)

    def extra_repr(self) -> str:
        return f"reduce={self.reduce!r}"


class Unsqueeze(nn.Module):
    """``x.unsqueeze(dim)``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class SwapAxes(nn.Module):
    """``x.transpose(first, second)``."""

    def __init__(self, first: int, second: int) -> None:
        super().__init__()
        self.first, self.second = first, second

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(self.first, self.second)

    def extra_repr(self) -> str:
        return f"{self.first}, {self.second}"


class Apply(nn.Module):
    """A function applied to the input (an activation given as a function rather than a module)."""

    def __init__(self, function: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.function = function

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)


class FixedMatmul(nn.Module):
    """``x @ matrix.T`` on the last axis with a fixed ``(out, in)`` matrix cast to the input's dtype (a
    change of basis kept in float64 whatever the model's dtype)."""

    matrix: torch.Tensor

    def __init__(self, matrix: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("matrix", matrix.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.matrix.to(x.dtype).T

    def extra_repr(self) -> str:
        return f"in={self.matrix.shape[1]}, out={self.matrix.shape[0]}"


class BlockMatmul(nn.Module):
    """``blocks`` independent linear maps: ``(..., blocks, in) -> (..., blocks, out)`` with weight
    ``(blocks, out, in)`` and bias ``(blocks, out)`` or none."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone())
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.einsum("...gi,goi->...go", x, self.weight)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        blocks, out, inp = self.weight.shape
        return f"blocks={blocks}, in={inp}, out={out}, bias={self.bias is not None}"


class OrbitMean(nn.Module):
    """The mean over each orbit of positions: ``(..., N, C) -> (..., K, C)``, as the 0/1 membership
    matrix ``(K, N)`` times the input, divided by the orbit sizes ``(K, 1)``."""

    membership: torch.Tensor
    counts: torch.Tensor

    def __init__(self, membership: torch.Tensor, counts: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("membership", membership)
        self.register_buffer("counts", counts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.membership.to(x.dtype), x) / self.counts.to(x.dtype)

    def extra_repr(self) -> str:
        return f"orbits={self.membership.shape[0]}, positions={self.membership.shape[1]}"


class PolyphaseSubsample(nn.Module):
    """Stride 2 by adaptive polyphase sampling: per sample, of the four components
    ``x[..., a::2, b::2]`` the one with the largest maximum. ``(B, C, H, W) -> (B, C, H/2, W/2)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.stack([x[..., a::2, b::2] for a in (0, 1) for b in (0, 1)], dim=1)
        best = parts.flatten(2).amax(dim=2).argmax(dim=1)
        return parts[torch.arange(x.shape[0], device=x.device), best]


class PathAverage(nn.Module):
    """A soft block: ReLU of its one path, or of the average of its paths, summed in order and divided
    by their number."""

    def __init__(self, paths: list[nn.Module]) -> None:
        super().__init__()
        self.paths = nn.ModuleList(paths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [path(x) for path in self.paths]
        if len(outs) == 1:
            return torch.relu(outs[0])
        total = outs[0]
        for out in outs[1:]:
            total = total + out
        return torch.relu(total / len(outs))


def _transform(x: torch.Tensor, element: int) -> torch.Tensor:
    """The D4 element ``k + 4 j`` = ``r^k m^j`` on the last two axes: first the left-right flip ``m^j``,
    then ``k`` counter-clockwise quarter turns (the convention of `eqlab.groups`)."""
    k, j = element % 4, element // 4
    return torch.rot90(torch.flip(x, dims=(-1,)) if j else x, k, dims=(-2, -1))


class ImageOrbitMean(nn.Module):
    """``(1/|G|) sum_g g^-1 . model(g . x)`` over D4 elements ``g`` (numbered ``k + 4 j``) with their
    inverses; ``g^-1`` acts on the output as ``out_action``: ``"invariant"`` (not at all), ``"image"``
    (like the input) or a callable ``(output, element) -> output``."""

    def __init__(
        self,
        model: Callable[[torch.Tensor], torch.Tensor],
        elements: tuple[int, ...],
        inverses: tuple[int, ...],
        out_action: str | Callable[[torch.Tensor, int], torch.Tensor],
    ) -> None:
        super().__init__()
        self.model = model
        self.elements, self.inverses = elements, inverses
        self.out_action = out_action

    def _act(self, out: torch.Tensor, element: int) -> torch.Tensor:
        if self.out_action == "invariant":
            return out
        if self.out_action == "image":
            return _transform(out, element)
        assert callable(self.out_action)
        return self.out_action(out, element)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = None
        for g, inverse in zip(self.elements, self.inverses, strict=True):
            out = self._act(self.model(_transform(x, g)), inverse)
            total = out if total is None else total + out
        assert total is not None
        return total / len(self.elements)

    def extra_repr(self) -> str:
        action = self.out_action if isinstance(self.out_action, str) else "callable"
        return f"elements={self.elements}, out_action={action!r}"
