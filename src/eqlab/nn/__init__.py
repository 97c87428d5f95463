"""The layers users compose, in one namespace: parameter-sharing layers, p4/p4m group convolutions and
equivariant linear maps between matrix representations."""

from eqlab.gconv import (
    GroupAvgPool2d,
    GroupBatchNorm2d,
    GroupConv2d,
    GroupMaxPool2d,
    GroupPool,
    LiftingConv2d,
)
from eqlab.nn.replinear import RepLinear, equivariant_basis, invariant_basis
from eqlab.sharing import (
    EquivariantLinear,
    EquivariantMLP,
    GraphLinear,
    OrbitPool,
    SetLinear,
    SymmetricLinear,
)

__all__ = [
    "EquivariantLinear",
    "EquivariantMLP",
    "GraphLinear",
    "GroupAvgPool2d",
    "GroupBatchNorm2d",
    "GroupConv2d",
    "GroupMaxPool2d",
    "GroupPool",
    "LiftingConv2d",
    "OrbitPool",
    "RepLinear",
    "SetLinear",
    "SymmetricLinear",
    "equivariant_basis",
    "invariant_basis",
]
