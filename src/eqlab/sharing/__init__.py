"""Equivariance through parameter sharing (Ravanbakhsh, Schneider & Póczos, ICML 2017).

See ``README.md`` in this folder.
"""

from eqlab.sharing._ign import GraphLinear, SetLinear, SymmetricLinear, equality_pattern, set_partitions
from eqlab.sharing._linear import DESIGNS, EquivariantLinear
from eqlab.sharing._mlp import ACTIVATIONS, EquivariantMLP, OrbitPool
from eqlab.sharing._pattern import SharingPattern, dense_pattern, pair_orbit_labels, sparse_pattern
from eqlab.sharing._symmetry import PatternSymmetry, symmetry_group

__all__ = [
    "ACTIVATIONS",
    "DESIGNS",
    "EquivariantLinear",
    "EquivariantMLP",
    "GraphLinear",
    "OrbitPool",
    "PatternSymmetry",
    "SetLinear",
    "SharingPattern",
    "SymmetricLinear",
    "dense_pattern",
    "equality_pattern",
    "pair_orbit_labels",
    "set_partitions",
    "sparse_pattern",
    "symmetry_group",
]
