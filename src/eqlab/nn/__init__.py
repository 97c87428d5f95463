"""Every layer eqlab offers, in one namespace.

- parameter sharing (Ravanbakhsh et al. 2017): `EquivariantLinear`, `EquivariantMLP`, `OrbitPool`, and
  the size-generic `SetLinear`, `GraphLinear`, `SymmetricLinear`;
- group convolutions on any point group of the plane (Cohen & Welling 2016): `LiftingConv2d`,
  `GroupConv2d`, `GroupMaxPool2d`, `GroupAvgPool2d`, `GroupPool`, `GroupBatchNorm2d`, and
  `is_group_layer` to tell them apart;
- `RepLinear`, the most general equivariant linear map between matrix representations;
- soft equivariance (van der Ouderaa et al. 2023): `SoftBlock`, `SoftPath`, `soft_backbone`, and the
  sparsified paths `SparseConv`, `SparseDense`;
- `OrbitAverage`, any image model made exactly equivariant by averaging over its input's orbit.

.. include:: README.md
"""

from eqlab.gconv._conv import GroupConv2d, LiftingConv2d
from eqlab.gconv._kinds import is_group_layer
from eqlab.gconv._pool import GroupAvgPool2d, GroupBatchNorm2d, GroupMaxPool2d, GroupPool
from eqlab.nn._orbit import OrbitAverage
from eqlab.nn._replinear import RepLinear
from eqlab.nn._soft import SoftBlock, SoftPath, soft_backbone
from eqlab.nn._sparse import SparseConv, SparseDense
from eqlab.sharing._ign import GraphLinear, SetLinear, SymmetricLinear
from eqlab.sharing._linear import EquivariantLinear
from eqlab.sharing._mlp import EquivariantMLP, OrbitPool

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
    "OrbitAverage",
    "OrbitPool",
    "RepLinear",
    "SetLinear",
    "SoftBlock",
    "SoftPath",
    "SparseConv",
    "SparseDense",
    "SymmetricLinear",
    "is_group_layer",
    "soft_backbone",
]
