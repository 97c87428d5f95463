"""Parameter-sharing patterns (Ravanbakhsh, Schneider & Póczos, ICML 2017).

A pattern colours the entries of an ``(M, N)`` weight matrix: entries of one colour share one free
parameter, colour ``-1`` means "no connection". A layer whose weights follow the pattern is equivariant
to every pair of permutations (of inputs, of outputs) that preserves the colouring.

**Dense design.** One colour per orbit of G on (output, input) index pairs: the most general
equivariant matrix. Its number of colours is the number of orbits on pairs, by Burnside
``(1/|G|) sum_g |Fix_N(g)| |Fix_M(g)|``, which is also the dimension of the space of equivariant
matrices. The bias is tied over the orbits of G on the outputs.

**Sparse design.** Only some orbits on pairs are kept: for every output-orbit representative ``m0``,
every input-orbit representative ``n0`` and every ``s`` in a connection set ``S`` (the identity and
chosen generators), the orbit of the pair ``(m0, s . n0)``. For G acting regularly on inputs and
outputs (both identified with G) this is the paper's construction: output ``g`` is connected to inputs
``g * s`` for ``s`` in ``S``, one colour per ``s``. It is equivariant for any ``S``, and uniquely
equivariant (no permutation pair outside G preserves it) exactly when ``S`` generates G.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from eqlab._arguments import describe
from eqlab.groups._group import orbit_labels, split_orbits
from eqlab.groups._perm import as_permutations

__all__ = ["SharingPattern", "dense_pattern", "pair_orbit_labels", "sparse_pattern"]


@dataclass(frozen=True)
class SharingPattern:
    """Colours of a weight matrix and a bias vector.

    Attributes
    ----------
    weight_colours
        ``(M, N)`` int64: the free parameter each weight entry uses, or ``-1`` for no connection.
    num_weight_colours
        Number of free weight parameters (per channel pair).
    bias_colours
        ``(M,)`` int64: the free parameter each bias entry uses (the output orbits).
    num_bias_colours
        Number of free bias parameters (per output channel).
    design
        ``"dense"`` or ``"sparse"``.
    """

    weight_colours: np.ndarray
    num_weight_colours: int
    bias_colours: np.ndarray
    num_bias_colours: int
    design: str

    @property
    def shape(self) -> tuple[int, int]:
        """``(M, N)``: outputs by inputs."""
        return (int(self.weight_colours.shape[0]), int(self.weight_colours.shape[1]))

    @property
    def num_connections(self) -> int:
        """Number of non-zero weight entries."""
        return int((self.weight_colours >= 0).sum())


def _generator_pair(in_generators: Any, out_generators: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both stacks validated as permutations, with one row per generator on each side."""
    in_gens = as_permutations(in_generators, name="in_generators")
    out_gens = as_permutations(out_generators, name="out_generators")
    if in_gens.shape[0] != out_gens.shape[0]:
        raise ValueError(
            "in_generators and out_generators must hold the same generators, one row each, got "
            f"{in_gens.shape[0]} rows (in_generators) and {out_gens.shape[0]} (out_generators)"
        )
    return in_gens, out_gens


def pair_orbit_labels(in_generators: np.ndarray, out_generators: np.ndarray) -> np.ndarray:
    """Orbit label of every (output, input) pair under the generated group, shape ``(M, N)``.

    ``in_generators`` ``(k, N)`` and ``out_generators`` ``(k, M)`` are the same ``k`` generators acting
    on inputs and outputs. Generator ``j`` maps pair ``(m, n)`` to ``(q_j[m], p_j[n])``; the orbits are
    the connected components of that graph on ``M * N`` nodes, numbered by first occurrence in
    row-major order.
    """
    in_generators, out_generators = _generator_pair(in_generators, out_generators)
    k, n_in = in_generators.shape
    m_out = out_generators.shape[1]
    nodes = m_out * n_in
    if k == 0:
        return np.arange(nodes, dtype=np.int64).reshape(m_out, n_in)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    source = np.tile(np.arange(nodes, dtype=np.int64), k)
    target = np.concatenate(
        [(q[:, None] * n_in + p[None, :]).ravel() for p, q in zip(in_generators, out_generators, strict=True)]
    )
    graph = coo_matrix((np.ones(source.size, dtype=np.int8), (source, target)), shape=(nodes, nodes))
    _, labels = connected_components(graph.tocsr(), directed=False)
    # scipy numbers components in order of their smallest node, which is first occurrence already
    return labels.astype(np.int64).reshape(m_out, n_in)


def dense_pattern(in_generators: np.ndarray, out_generators: np.ndarray) -> SharingPattern:
    """The dense design: one free weight per orbit on (output, input) pairs, one bias per output orbit."""
    in_generators, out_generators = _generator_pair(in_generators, out_generators)
    labels = pair_orbit_labels(in_generators, out_generators)
    bias = orbit_labels(out_generators)
    return SharingPattern(
        weight_colours=labels,
        num_weight_colours=int(labels.max()) + 1 if labels.size else 0,
        bias_colours=bias,
        num_bias_colours=int(bias.max()) + 1,
        design="dense",
    )


def _connections(connections: Any, k: int) -> list[int]:
    if isinstance(connections, (str, bytes)) or not isinstance(
        connections, (Sequence, np.ndarray, torch.Tensor)
    ):
        raise TypeError(
            f"connections must be a sequence of generator indices or None, got {describe(connections)}"
        )
    chosen = []
    for j in connections:
        if isinstance(j, torch.Tensor) and j.dim() == 0 and not j.is_floating_point():
            j = int(j)
        if isinstance(j, (bool, np.bool_)) or not isinstance(j, (int, np.integer)):
            raise TypeError(f"connections must hold generator indices in 0..{k - 1}, got {describe(j)}")
        if not 0 <= j < k:
            raise ValueError(f"connections must hold generator indices in 0..{k - 1}, got {j}")
        chosen.append(int(j))
    return chosen


def sparse_pattern(
    in_generators: np.ndarray, out_generators: np.ndarray, connections: Sequence[int] | None = None
) -> SharingPattern:
    """The sparse design: the orbits of the pairs ``(m0, s . n0)``, ``s`` in ``S``.

    ``S`` holds the identity and the generators whose indices are in ``connections`` (all generators
    when ``None``). Pairs of other orbits get colour ``-1``.
    """
    in_generators, out_generators = _generator_pair(in_generators, out_generators)
    k = in_generators.shape[0]
    chosen = list(range(k)) if connections is None else _connections(connections, k)
    labels = pair_orbit_labels(in_generators, out_generators)
    out_reps = [int(o[0]) for o in split_orbits(orbit_labels(out_generators))]
    in_reps = [int(o[0]) for o in split_orbits(orbit_labels(in_generators))]
    kept: dict[int, int] = {}
    for m0 in out_reps:
        for n0 in in_reps:
            for target in [n0] + [int(in_generators[j][n0]) for j in chosen]:
                kept.setdefault(int(labels[m0, target]), len(kept))
    remap = np.full(int(labels.max()) + 1, -1, dtype=np.int64)
    remap[list(kept)] = list(kept.values())
    bias = orbit_labels(out_generators)
    return SharingPattern(
        weight_colours=remap[labels],
        num_weight_colours=len(kept),
        bias_colours=bias,
        num_bias_colours=int(bias.max()) + 1,
        design="sparse",
    )
