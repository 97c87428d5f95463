"""Finite groups acting on index sets by permutations: the language every part of eqlab speaks.

- `Group` (generators permuting one or more index sets), its `Action` on one set, and the catalogue:
  `cyclic`, `dihedral`, `symmetric`, `alternating`, `direct_product`, `regular`, `on_tuples`,
  `square_grid`, `torus`;
- `PointGroup` and `point_group`: p4, p4m and the flips of the image plane, acting on images, on group
  feature maps and on their own elements (the group axis of the group convolutions);
- `Representation`: matrices of a group, for `eqlab.nn.RepLinear` and `eqlab.activations`;
- `act` and `permutation_matrix`: THE action convention, ``x_new[p] = x``.

.. include:: README.md
"""

from eqlab.groups._catalogue import (
    alternating,
    cyclic,
    dihedral,
    direct_product,
    on_tuples,
    regular,
    square_grid,
    symmetric,
    torus,
)
from eqlab.groups._group import Action, Group
from eqlab.groups._perm import act, permutation_matrix
from eqlab.groups._point import PointGroup, point_group
from eqlab.groups._representation import Representation

__all__ = [
    "Action",
    "Group",
    "PointGroup",
    "Representation",
    "act",
    "alternating",
    "cyclic",
    "dihedral",
    "direct_product",
    "on_tuples",
    "permutation_matrix",
    "point_group",
    "regular",
    "square_grid",
    "symmetric",
    "torus",
]
