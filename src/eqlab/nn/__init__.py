"""The layers users compose, in one namespace: parameter-sharing layers and p4/p4m group convolutions."""

from eqlab.gconv import (
    GroupAvgPool2d,
    GroupBatchNorm2d,
    GroupConv2d,
    GroupMaxPool2d,
    GroupPool,
    LiftingConv2d,
)
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
    "SetLinear",
    "SymmetricLinear",
]
