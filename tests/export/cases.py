"""Small models holding each eqlab layer, with an input maker, shared by the export tests.

Each case builds its model in float32 from torch's global generator (tests seed it), and makes inputs
of the batch size asked for in the model's dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from eqlab.activations._basis_activation import BasisActivation
from eqlab.groups import Representation, cyclic, symmetric
from eqlab.nn import (
    EquivariantLinear,
    EquivariantMLP,
    GraphLinear,
    GroupAvgPool2d,
    GroupBatchNorm2d,
    GroupConv2d,
    GroupMaxPool2d,
    GroupPool,
    LiftingConv2d,
    OrbitAverage,
    OrbitPool,
    RepLinear,
    SetLinear,
    SoftBlock,
    SparseConv,
    SparseDense,
    SymmetricLinear,
    soft_backbone,
)


@dataclass(frozen=True)
class Case:
    """A model and the shape of one input sample (without the batch axis)."""

    name: str
    build: Callable[[], nn.Module]
    sample: tuple[int, ...]

    def inputs(self, batch: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.randn(batch, *self.sample, dtype=dtype)


def _trained_norm(channels: int) -> GroupBatchNorm2d:
    """A group batch norm whose running statistics and affine parameters are not the defaults."""
    norm = GroupBatchNorm2d(channels)
    with torch.no_grad():
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
        norm.weight.uniform_(0.5, 2)
        norm.bias.uniform_(-1, 1)
    return norm


def _gcnn(group: str) -> nn.Module:
    return nn.Sequential(
        LiftingConv2d(2, 3, 3, group=group, padding=1),
        _trained_norm(3),
        nn.ReLU(),
        GroupConv2d(3, 4, 3, group=group, stride=2, padding=1, padding_mode="circular"),
        GroupMaxPool2d(2),
        GroupConv2d(4, 2, 1, group=group, bias=False),
        GroupAvgPool2d(2, stride=1, padding=1),
        GroupPool("mean"),
        nn.Flatten(),
    )


def _s4_action() -> object:
    return symmetric(4).action()


def _rotation_mlp() -> nn.Module:
    rot = Representation.rotation(4)
    hidden = Representation.direct_sum(rot, rot)
    return nn.Sequential(RepLinear(rot, hidden), nn.ReLU(), RepLinear(hidden, rot))


def _basis_activation() -> nn.Module:
    change = torch.tensor([[1.0, 1.0], [1.0, -1.0]]) / 2**0.5
    return nn.Sequential(
        nn.Linear(2, 2), BasisActivation(change, nn.Tanh()), BasisActivation(change, torch.relu)
    )


class _Channels(nn.Module):
    """A set of ``N`` scalars as ``(B, N, 1)`` feature maps for the channelled layers."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(-1)


CASES = [
    Case("gcnn-p4", lambda: _gcnn("p4"), (2, 8, 8)),
    Case("gcnn-p4m", lambda: _gcnn("p4m"), (2, 8, 8)),
    Case("gcnn-hflip", lambda: _gcnn("hflip"), (2, 7, 7)),
    Case(
        "group-pool-max",
        lambda: nn.Sequential(GroupConv2d(2, 2, 3, group="rot180"), GroupPool("max")),
        (2, 2, 5, 5),
    ),
    Case(
        "group-batch-norm-variants",
        lambda: nn.Sequential(
            GroupBatchNorm2d(2, affine=False),
            GroupBatchNorm2d(2, track_running_stats=False),
            GroupBatchNorm2d(2, bias=False, eps=1e-3),
        ),
        (2, 4, 3, 3),
    ),
    Case("equivariant-linear", lambda: EquivariantLinear(cyclic(6).action(), cyclic(6).action()), (6,)),
    Case(
        "equivariant-linear-sparse-channels",
        lambda: nn.Sequential(
            _Channels(),
            EquivariantLinear(
                cyclic(6).action(), cyclic(6).action(), design="sparse", in_channels=1, out_channels=3
            ),
            OrbitPool(cyclic(6).action()),
        ),
        (6,),
    ),
    Case("equivariant-mlp", lambda: EquivariantMLP(_s4_action(), [5, 3], 2, head_channels=[4]), (4,)),
    Case(
        "equivariant-mlp-channels",
        lambda: EquivariantMLP(cyclic(5).action(), [3], 2, in_channels=2, activation="tanh"),
        (5, 2),
    ),
    Case("rep-linear", _rotation_mlp, (2,)),
    Case("basis-activation", _basis_activation, (2,)),
    Case(
        "set-linear",
        lambda: nn.Sequential(SetLinear(2, 3), nn.ReLU(), SetLinear(3, 1, aggregation="mean")),
        (5, 2),
    ),
    Case(
        "graph-linear",
        lambda: nn.Sequential(GraphLinear(2, 3), nn.ReLU(), GraphLinear(3, 2, bias=False)),
        (4, 4, 2),
    ),
    Case("symmetric-linear-invariant", lambda: SymmetricLinear(2, 0, 2, 3, aggregation="mean"), (4, 4, 2)),
    Case("symmetric-linear-1-to-2", lambda: SymmetricLinear(1, 2, 2, 2), (3, 2)),
    Case("soft-conv", lambda: SoftBlock("conv", 2, 3, 8, stride=2), (2, 8, 8)),
    Case("soft-fc+conv", lambda: SoftBlock("fc+conv", 2, 3, 8, stride=2), (2, 8, 8)),
    Case("soft-ffc+conv", lambda: SoftBlock("ffc+conv", 2, 3, 8, stride=1), (2, 8, 8)),
    Case("soft-s-fc+s-conv", lambda: SoftBlock("s-fc+s-conv", 2, 3, 8, stride=2), (2, 8, 8)),
    Case("soft-p4", lambda: SoftBlock("p4", 2, 8, 8, stride=2), (2, 8, 8)),
    Case(
        "soft-p4+conv+ffc-group-input", lambda: SoftBlock("p4+conv+ffc", 8, 4, 6, group_input=True), (8, 6, 6)
    ),
    Case(
        "soft-backbone-p4+conv+ffc",
        lambda: soft_backbone("p4+conv+ffc", alpha=4, size=8, widths=(1, 1), strides=(2, 2)),
        (1, 8, 8),
    ),
    Case("sparse-conv", lambda: SparseConv(2, 3, 1), (2, 6, 6)),
    Case("sparse-dense", lambda: SparseDense(2, 3, 4, 2), (2, 4, 4)),
    Case(
        "soft-backbone",
        lambda: soft_backbone("ffc+conv", alpha=1, size=8, widths=(1, 2), strides=(2, 2)),
        (1, 8, 8),
    ),
    Case(
        "orbit-average-invariant",
        lambda: OrbitAverage(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.LazyLinear(2)), "d4"),
        (1, 6, 6),
    ),
    Case(
        "orbit-average-image",
        lambda: OrbitAverage(nn.Conv2d(1, 2, 3, padding=1), "rot90", out_action="image"),
        (1, 5, 5),
    ),
    Case(
        "orbit-average-gcnn",
        lambda: OrbitAverage(
            nn.Sequential(LiftingConv2d(1, 2, 3, group="hflip"), GroupPool()), "rot180", "image"
        ),
        (1, 6, 6),
    ),
]
"""One case per eqlab layer (several layers in some), small enough for float64 and float32 checks."""
