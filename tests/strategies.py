"""Hypothesis strategies for random finite permutation groups acting on one or two index sets."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from eqlab.groups import Group


@st.composite
def permutations(draw: st.DrawFn, n: int) -> np.ndarray:
    """A random permutation of ``n`` points."""
    return np.array(draw(st.permutations(list(range(n)))), dtype=np.int64)


@st.composite
def groups(draw: st.DrawFn, max_size: int = 6, sets: int = 2, max_generators: int = 3) -> Group:
    """A random group: ``k`` random generator tuples, one permutation per index set.

    Each generator is drawn either as a random permutation or as a power of another generator, so
    small cyclic, non-faithful and trivial actions occur as well as large symmetric ones.
    """
    k = draw(st.integers(0, max_generators))
    sizes = [draw(st.integers(1, max_size)) for _ in range(sets)]
    stacks = []
    for n in sizes:
        rows: list[np.ndarray] = []
        for _ in range(k):
            kind = draw(st.sampled_from(["random", "identity", "power"]))
            if kind == "identity" or (kind == "power" and not rows):
                rows.append(np.arange(n))
            elif kind == "power":
                base = rows[draw(st.integers(0, len(rows) - 1))]
                rows.append(base[base])
            else:
                rows.append(draw(permutations(n)))
        stacks.append(np.array(rows, dtype=np.int64).reshape(k, n))
    return Group(*stacks, name="random")
