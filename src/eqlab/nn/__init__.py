"""The layers users compose, in one namespace: parameter-sharing layers, p4/p4m group convolutions,
equivariant linear maps between matrix representations, and softly equivariant blocks."""

from eqlab.gconv import (
    GroupAvgPool2d,
    GroupBatchNorm2d,
    GroupConv2d,
    GroupMaxPool2d,
    GroupPool,
    LiftingConv2d,
)
from eqlab.nn._primitives import GroupedLinear, polyphase_subsample
from eqlab.nn._replinear import RepLinear, equivariant_basis, invariant_basis
from eqlab.nn._soft import PATHS, SoftBlock, soft_backbone
from eqlab.nn._sparse import SparseConv, SparseDense
from eqlab.sharing import (
    EquivariantLinear,
    EquivariantMLP,
    GraphLinear,
    OrbitPool,
    SetLinear,
    SymmetricLinear,
)

__all__ = [
    "PATHS",
    "EquivariantLinear",
    "EquivariantMLP",
    "GraphLinear",
    "GroupAvgPool2d",
    "GroupBatchNorm2d",
    "GroupConv2d",
    "GroupMaxPool2d",
    "GroupPool",
    "GroupedLinear",
    "LiftingConv2d",
    "OrbitPool",
    "RepLinear",
    "SetLinear",
    "SoftBlock",
    "SparseConv",
    "SparseDense",
    "SymmetricLinear",
    "equivariant_basis",
    "invariant_basis",
    "polyphase_subsample",
    "soft_backbone",
]
