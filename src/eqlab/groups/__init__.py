"""Finite groups acting on index sets by permutations: the language every part of eqlab speaks.

See ``README.md`` in this folder for the design and the action convention.
"""

from eqlab.groups._catalogue import (
    alternating,
    cyclic,
    dihedral,
    direct_product,
    grid_permutation,
    hflip,
    on_tuples,
    regular,
    square_grid,
    symmetric,
    torus,
    tuple_permutations,
)
from eqlab.groups._group import (
    DEFAULT_ELEMENT_LIMIT,
    Action,
    Group,
    orbit_labels,
    split_orbits,
    stack_generators,
)
from eqlab.groups._perm import (
    act,
    as_permutation,
    as_permutations,
    compose,
    identity,
    inverse,
    is_permutation,
    permutation_matrix,
)
from eqlab.groups._representation import Representation, paired_elements

__all__ = [
    "DEFAULT_ELEMENT_LIMIT",
    "Action",
    "Group",
    "Representation",
    "act",
    "alternating",
    "as_permutation",
    "as_permutations",
    "compose",
    "cyclic",
    "dihedral",
    "direct_product",
    "grid_permutation",
    "hflip",
    "identity",
    "inverse",
    "is_permutation",
    "on_tuples",
    "orbit_labels",
    "paired_elements",
    "permutation_matrix",
    "regular",
    "split_orbits",
    "square_grid",
    "stack_generators",
    "symmetric",
    "torus",
    "tuple_permutations",
]
