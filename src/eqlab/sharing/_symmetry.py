"""The symmetry group of a parameter-sharing pattern, and whether a layer is uniquely equivariant.

The pattern is a coloured bipartite graph: inputs, outputs and tied weight entries. Its symmetry group
G_Omega is every pair (permutation of inputs, permutation of outputs) that maps each weight entry to an
entry of the same colour and each output to one with the same bias colour. A layer with the pattern
is equivariant to G_Omega for all parameter values, and with generic values to nothing more
(Ravanbakhsh et al. 2017). It is *uniquely* G-equivariant when G_Omega is exactly the image of G.

BLISS (through igraph) colours vertices only, so each non-zero entry ``(m, n)`` becomes a vertex of its
own, coloured by its weight colour and joined to input ``n`` and output ``m``; inputs and outputs get
colours of their own (outputs by bias orbit), so no automorphism mixes the kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from eqlab._arguments import describe
from eqlab.groups._group import Group
from eqlab.sharing._linear import EquivariantLinear
from eqlab.sharing._pattern import SharingPattern

if TYPE_CHECKING:
    import igraph

__all__ = ["PatternSymmetry", "symmetry_group"]


@dataclass(frozen=True)
class PatternSymmetry:
    """The symmetry group of a sharing pattern."""

    group: Group
    """G_Omega as an `eqlab.groups.Group` on two index sets: inputs (``N``) and outputs (``M``)."""
    order: int
    """``|G_Omega|``, counted by BLISS."""
    layer_group: Group
    """The group the layer was built for, as its image acting on (inputs, outputs)."""

    @cached_property
    def layer_group_order(self) -> int:
        """Order of the image of the layer's group in Sym(N) x Sym(M)."""
        return self.layer_group.order

    @property
    def is_unique(self) -> bool:
        """Whether the pattern's symmetries are exactly the layer's group (it contains it always)."""
        return self.order == self.layer_group_order

    def __repr__(self) -> str:
        return f"PatternSymmetry(order={self.order}, layer_group_order={self.layer_group_order})"


def _pattern_graph(pattern: SharingPattern, with_bias: bool) -> tuple[igraph.Graph, list[int]]:
    import igraph

    m_out, n_in = pattern.shape
    rows, cols = np.nonzero(pattern.weight_colours >= 0)
    entries = np.arange(rows.size) + n_in + m_out
    edges = np.concatenate([np.stack([cols, entries], axis=1), np.stack([n_in + rows, entries], axis=1)])
    graph = igraph.Graph(n=n_in + m_out + rows.size, edges=edges.tolist())
    out_colours = pattern.bias_colours if with_bias else np.zeros(m_out, dtype=np.int64)
    first_entry_colour = 1 + int(out_colours.max()) + 1
    colours = np.concatenate(
        [np.zeros(n_in, np.int64), 1 + out_colours, first_entry_colour + pattern.weight_colours[rows, cols]]
    )
    return graph, colours.tolist()


def symmetry_group(layer: EquivariantLinear) -> PatternSymmetry:
    """The group of all (input, output) permutation pairs that preserve the layer's weight and bias tying.

    The layer is equivariant to this group whatever its parameter values, and it always contains the
    group the layer was built for; when it is larger, the layer is not *uniquely* equivariant to that
    group (Ravanbakhsh et al. 2017). Found by BLISS (igraph) on a graph of the sharing pattern.

    Parameters
    ----------
    layer
        An `eqlab.nn.EquivariantLinear` (dense or sparse design).

    Returns
    -------
    PatternSymmetry
        The group on (inputs, outputs), its order, the layer's own group, and ``is_unique``.

    Examples
    --------
    A_4 is 2-transitive on 4 points, so its dense layer is the Deep Sets layer, whose symmetries are
    all of S_4: the layer is not *uniquely* A_4-equivariant.

    >>> from eqlab.groups import alternating
    >>> sym = symmetry_group(EquivariantLinear(alternating(4).action(), alternating(4).action()))
    >>> sym.order, sym.layer_group_order, sym.is_unique
    (24, 12, False)
    """
    if not isinstance(layer, EquivariantLinear):
        raise TypeError(f"layer must be an EquivariantLinear, got {describe(layer)}")
    pattern = layer.pattern
    graph, colours = _pattern_graph(pattern, with_bias=layer.free_bias is not None)
    order = int(graph.count_automorphisms(color=colours))
    m_out, n_in = pattern.shape
    generators = np.array(graph.automorphism_group(color=colours), dtype=np.int64).reshape(-1, graph.vcount())
    on_inputs = generators[:, :n_in]
    on_outputs = generators[:, n_in : n_in + m_out] - n_in
    layer_group = Group(layer.in_generators, layer.out_generators, name="layer group")
    return PatternSymmetry(Group(on_inputs, on_outputs, name="pattern symmetry"), order, layer_group)
