"""The choices of `eqlab.sharing`: which weights an equivariant linear layer ties and keeps."""

from __future__ import annotations

from eqlab._options import Option

__all__ = ["Design"]


class Design(Option):
    """The parameter-sharing design of `eqlab.nn.EquivariantLinear` (Ravanbakhsh et al. 2017)."""

    DENSE = "dense"
    """One free weight per orbit of (output, input) pairs: the most general equivariant matrix, whose
    symmetry group is the 2-closure of the group."""
    SPARSE = "sparse"
    """Only the orbits of the pairs ``(m0, s . n0)`` for orbit representatives and ``s`` in a connection
    set: for a regular action, uniquely equivariant exactly when the set generates the group."""
