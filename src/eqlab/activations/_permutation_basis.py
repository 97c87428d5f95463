"""`permutation_basis`: is a representation of a finite group a permutation representation in some basis?

Corollary 1 of Pacini et al. (2024): with a non-odd, non-affine pointwise activation (ReLU, GELU, ...)
a finite group can only act, after a positive rescaling, as a sum of permutation representations on
coset spaces ``G/H_1 + ... + G/H_m``. A representation given in another basis may still be one of these;
if so, a change of basis ``T`` puts the activation where it commutes with the group. The decision, in
order of cost:

1. the group: the closure of the matrices must be finite, with at most ``max_order`` elements;
2. the character ``chi(g) = trace rho(g)`` must be integer-valued (it counts fixed points);
3. and non-negative;
4. ``chi`` must be a non-negative integer combination of the permutation characters
   ``chi_H(g) = |{x : x^-1 g x in H}| / |H|`` of the subgroups ``H`` up to conjugacy (enumerated from
   the element table; only those with ``chi_H <= chi`` pointwise can take part), found by a small
   integer program (`scipy.optimize.milp`). Real representations with equal characters are isomorphic;
5. an invertible intertwiner ``T rho(g) = P(g) T``: a random element of the nullspace of these
   Sylvester equations on the generators (`eqlab.nn._replinear.equivariant_basis`), invertible with
   probability one once step 4 succeeded. Above `SYLVESTER_MAX_DIM` dimensions the ``n^2``-unknown
   SVD is too slow, and the same space is sampled by the group average of ``P(g) X rho(g)^-1``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from eqlab._arguments import integer
from eqlab.activations._basis_activation import BasisActivation
from eqlab.activations._classes import as_matrices
from eqlab.groups._representation import Representation, closure
from eqlab.nn._replinear import equivariant_basis

__all__ = [
    "MATCH_TOLERANCE",
    "MAX_ORDER",
    "MAX_SUBGROUP_CLASSES",
    "SYLVESTER_MAX_DIM",
    "PermutationBasis",
    "permutation_basis",
]

MAX_ORDER = 500
"""Default largest group order `permutation_basis` enumerates."""
MAX_SUBGROUP_CLASSES = 2000
"""Largest number of conjugacy classes of subgroups enumerated before giving up."""


@dataclass(frozen=True)
class PermutationBasis:
    """The outcome of `permutation_basis`."""

    found: bool
    """Whether the representation is isomorphic to a permutation representation."""
    test: str
    """The test that decided: ``"finite group"``, ``"integer character"``, ``"non-negative character"``,
    ``"permutation characters"``, ``"intertwiner"``, or ``"all passed"``."""
    reason: str
    """One or two sentences; on failure they name the group element (a word in the generators ``g0``,
    ``g1``, ...) or the subgroups tried."""
    group_order: int
    """The order of the matrix group (0 if it could not be enumerated)."""
    change_of_basis: np.ndarray | None = None
    """``(n, n)`` ``T``: in the coordinates ``y = T x`` every matrix is a permutation (``None`` when not
    found)."""
    matrices: np.ndarray | None = None
    """``(k, n, n)`` the given matrices in the new basis, ``T M T^-1``, exactly 0 or 1."""
    cosets: tuple[tuple[int, int], ...] = field(default_factory=tuple)
    """``(|H|, [G:H])`` for each summand ``R^{G/H}`` of the permutation representation, in block order."""

    def activation(self, f: Callable[[torch.Tensor], torch.Tensor]) -> nn.Module:
        """``f`` applied entry-wise in the found basis, ``x -> T^-1 f(T x)`` on the last axis of
        ``(..., n)``: a module that commutes with the group for any continuous ``f``.

        Raises
        ------
        ValueError
            when no basis was found (``found`` is False).
        """
        if self.change_of_basis is None:
            raise ValueError(f"no permutation basis was found ({self.test}: {self.reason})")
        return BasisActivation(self.change_of_basis, f)


SYLVESTER_MAX_DIM = 32
"""Largest dimension whose intertwiners come from the Sylvester nullspace (``n^2`` unknowns)."""
MATCH_TOLERANCE = 1e-8
"""Two matrices are the same group element when their entries agree to this, relative to the largest."""


class _Group:
    """The elements of a finite matrix group with their multiplication table and words."""

    def __init__(self, generators: np.ndarray, max_order: int) -> None:
        self.elements = closure(generators, max_order)
        self.order = len(self.elements)
        flat = self.elements.reshape(self.order, -1)
        self._probe = np.random.default_rng(0).standard_normal(flat.shape[1])
        keys = flat @ self._probe
        self._sorted = np.argsort(keys)
        self._keys = keys[self._sorted]
        self.identity = 0
        self.generators = self.locate(generators)
        self.table = np.stack([self.locate(m @ self.elements) for m in self.elements])
        self.inverse = np.argmax(self.table == self.identity, axis=1)
        # conj[g, x] = x^-1 g x
        rows, cols = np.arange(self.order)[:, None], np.arange(self.order)[None, :]
        self.conj = self.table[self.table[self.inverse[cols], rows], cols]
        self.words = self._words()

    def locate(self, mats: np.ndarray) -> np.ndarray:
        """Element indices of ``(m, n, n)`` matrices: nearest by a random projection, then verified."""
        keys = mats.reshape(len(mats), -1) @ self._probe
        pos = np.searchsorted(self._keys, keys)
        best = np.empty(len(mats), dtype=np.int64)
        for i, p in enumerate(pos):
            candidates = self._sorted[max(p - 1, 0) : p + 1]
            gaps = np.abs(self.elements[candidates] - mats[i]).max(axis=(1, 2))
            j = int(np.argmin(gaps))
            if gaps[j] > MATCH_TOLERANCE * max(1.0, float(np.abs(mats[i]).max())):
                raise RuntimeError("a product of group elements is not in the group: the closure is wrong")
            best[i] = candidates[j]
        return best

    def _words(self) -> list[list[int]]:
        """A shortest word in the generators for each element (breadth-first)."""
        words: list[list[int]] = [[] for _ in range(self.order)]
        seen = {self.identity}
        queue = deque([self.identity])
        while queue:
            a = queue.popleft()
            for j, g in enumerate(self.generators):
                b = int(self.table[g, a])
                if b not in seen:
                    seen.add(b)
                    words[b] = [j, *words[a]]
                    queue.append(b)
        return words

    def name(self, element: int) -> str:
        """The element as a word with powers, e.g. ``g0^2 g1``."""
        parts: list[list[int]] = []
        for j in self.words[element]:
            if parts and parts[-1][0] == j:
                parts[-1][1] += 1
            else:
                parts.append([j, 1])
        return " ".join(f"g{j}" + (f"^{p}" if p > 1 else "") for j, p in parts) or "the identity"

    def first(self, mask: np.ndarray) -> int:
        """The element with the shortest word among those where ``mask`` holds."""
        return int(min(np.flatnonzero(mask), key=lambda g: len(self.words[g])))

    def closure(self, generators: list[int]) -> np.ndarray:
        """Sorted element indices of the subgroup the given elements generate."""
        members = {self.identity}
        queue = deque([self.identity])
        while queue:
            a = queue.popleft()
            for g in generators:
                b = int(self.table[a, g])
                if b not in members:
                    members.add(b)
                    queue.append(b)
        return np.array(sorted(members))

    def canonical(self, subgroup: np.ndarray) -> bytes:
        """A key equal for conjugate subgroups: the smallest packed mask among all conjugates."""
        masks = np.zeros((self.order, self.order), dtype=bool)
        masks[np.arange(self.order)[None, :], self.conj[subgroup]] = True
        packed = np.packbits(masks, axis=1)
        return min(row.tobytes() for row in packed)

    def subgroup_classes(self) -> list[tuple[np.ndarray, list[int]]]:
        """One ``(elements, generators)`` per conjugacy class of subgroups.

        Every subgroup is reached by adding one element at a time; joining only class representatives
        with every element suffices, since ``<x H x^-1, g>`` is conjugate to ``<H, x^-1 g x>``.
        """
        trivial = np.array([self.identity])
        found: dict[bytes, tuple[np.ndarray, list[int]]] = {self.canonical(trivial): (trivial, [])}
        queue: deque[tuple[np.ndarray, list[int]]] = deque([(trivial, [])])
        while queue:
            members, gens = queue.popleft()
            inside = np.zeros(self.order, dtype=bool)
            inside[members] = True
            tried: set[bytes] = set()
            for g in range(self.order):
                if inside[g]:
                    continue
                bigger = self.closure([*gens, g])
                exact = bigger.tobytes()
                if exact in tried:
                    continue
                tried.add(exact)
                key = self.canonical(bigger)
                if key not in found:
                    if len(found) >= MAX_SUBGROUP_CLASSES:
                        raise RuntimeError(
                            f"more than MAX_SUBGROUP_CLASSES={MAX_SUBGROUP_CLASSES} conjugacy classes of "
                            "subgroups"
                        )
                    found[key] = (bigger, [*gens, g])
                    queue.append((bigger, [*gens, g]))
        return list(found.values())

    def permutation_character(self, subgroup: np.ndarray) -> np.ndarray:
        """``chi_H(g) = |{x : x^-1 g x in H}| / |H|``, shape ``(|G|,)``."""
        inside = np.zeros(self.order, dtype=bool)
        inside[subgroup] = True
        return inside[self.conj].sum(axis=1) / len(subgroup)

    def coset_action(self, subgroup: np.ndarray, acting: np.ndarray) -> np.ndarray:
        """``(len(acting), [G:H], [G:H])`` permutation matrices of the ``acting`` elements on ``G/H``."""
        coset_of = self.table[:, subgroup].min(axis=1)  # smallest element of g H names the coset
        labels = {int(c): i for i, c in enumerate(np.unique(coset_of))}
        size = len(labels)
        mats = np.zeros((len(acting), size, size))
        for j, s in enumerate(acting):
            for g in range(self.order):
                mats[j, labels[int(coset_of[self.table[s, g]])], labels[int(coset_of[g])]] = 1.0
        return mats


def _fail(test: str, reason: str, order: int) -> PermutationBasis:
    return PermutationBasis(False, test, reason, order)


def _combination(characters: np.ndarray, chi: np.ndarray, dim: int) -> np.ndarray | None:
    """Non-negative integers ``a`` with ``characters.T @ a == chi``, or ``None``."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    m = characters.shape[0]
    result = milp(
        c=np.ones(m),
        constraints=LinearConstraint(characters.T, chi, chi),
        integrality=np.ones(m),
        bounds=Bounds(0, dim),
    )
    if result.status != 0 or result.x is None:
        return None
    return np.round(result.x).astype(int)


def _intertwiners(group: _Group, perm: np.ndarray, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Five random ``T`` with ``T rho(g) = P(g) T``: from the Sylvester nullspace on the generators up
    to `SYLVESTER_MAX_DIM`, else by averaging ``P(g) X rho(g)^-1`` over the group (same space)."""
    n = perm.shape[-1]
    if n <= SYLVESTER_MAX_DIM:
        rho = Representation(group.elements[group.generators])
        basis = equivariant_basis(rho, Representation(perm[group.generators]))
        for _ in range(5):
            yield np.einsum("d,dij->ij", rng.standard_normal(len(basis)), basis)
        return
    inverses = group.elements[group.inverse]
    for _ in range(5):
        x = rng.standard_normal((n, n))
        yield np.einsum("gij,jk,gkl->il", perm, x, inverses) / group.order


def permutation_basis(matrices: Any, max_order: int = MAX_ORDER, seed: int = 0) -> PermutationBasis:
    """Decide whether the representation is a permutation representation in some basis, and find it.

    Parameters
    ----------
    matrices
        ``(k, n, n)`` matrices of the generators (or of all elements) of a finite group, or an
        `eqlab.groups.Representation`.
    max_order
        The largest group order enumerated; a larger or infinite group fails the first test.
    seed
        Seed of the random combination of intertwiners.

    Returns
    -------
    PermutationBasis
        Whether a permutation basis exists, the test that decided, and when it does, the change of basis
        ``T`` ``(n, n)``; ``.activation(f)`` applies ``f`` in that basis.

    Examples
    --------
    The 90-degree rotation of the plane fails on its character (a signed permutation: tanh works, ReLU
    does not); the 2-d rotations of C_3 plus a trivial summand are the permutations of 3 points.

    >>> import math
    >>> c, s = math.cos(math.pi / 2), math.sin(math.pi / 2)
    >>> permutation_basis(np.array([[[c, -s], [s, c]]])).test
    'non-negative character'
    >>> c, s = math.cos(2 * math.pi / 3), math.sin(2 * math.pi / 3)
    >>> result = permutation_basis(np.array([[[c, -s, 0], [s, c, 0], [0, 0, 1]]]))
    >>> result.found, result.cosets
    (True, ((1, 3),))
    """
    mats = as_matrices(matrices)
    max_order = integer(max_order, "max_order", minimum=1)
    seed = integer(seed, "seed", minimum=0)
    n = mats.shape[-1]
    try:
        group = _Group(mats, max_order)
    except ValueError as error:
        return _fail(
            "finite group", f"the matrices do not generate a group of order <= {max_order}: {error}", 0
        )
    chi = np.trace(group.elements, axis1=1, axis2=2)
    rounded = np.round(chi)
    off = np.abs(chi - rounded)
    if off.max() > 1e-8:
        g = group.first(off > 1e-8)
        return _fail(
            "integer character",
            f"the character at {group.name(g)} is {chi[g]:.6g}, not an integer, so no basis makes the "
            "group act by permutations (a permutation's trace counts its fixed points)",
            group.order,
        )
    if rounded.min() < 0:
        g = group.first(rounded < 0)
        return _fail(
            "non-negative character",
            f"the character at {group.name(g)} is {int(rounded[g])} < 0, so no basis makes the group act by "
            "permutations (a permutation's trace counts its fixed points)",
            group.order,
        )
    try:
        classes = group.subgroup_classes()
    except RuntimeError as error:
        return _fail("permutation characters", f"could not enumerate the subgroups: {error}", group.order)
    candidates = []
    for members, _ in classes:
        character = group.permutation_character(members)
        if np.all(character <= rounded + 1e-9):
            candidates.append((members, character))
    weights = _combination(np.array([c for _, c in candidates]), rounded, n) if candidates else None
    if weights is None:
        return _fail(
            "permutation characters",
            f"the character passes the cheap tests but is not a non-negative integer combination of the "
            f"permutation characters of the {len(classes)} conjugacy classes of subgroups "
            f"({len(candidates)} fit under it)",
            group.order,
        )
    cosets = []
    perm = np.zeros((group.order, n, n))  # the permutation representation, every element
    start = 0
    for (members, _), count in zip(candidates, weights, strict=True):
        block = group.coset_action(members, np.arange(group.order))
        size = block.shape[-1]
        for _ in range(count):
            perm[:, start : start + size, start : start + size] = block
            cosets.append((len(members), size))
            start += size
    rng = np.random.default_rng(seed)
    for candidate in _intertwiners(group, perm, rng):
        if np.linalg.cond(candidate) < 1e8:
            rescaled = candidate @ mats @ np.linalg.inv(candidate)
            exact = np.where(np.abs(rescaled - 1.0) < 1e-6, 1.0, 0.0)
            return PermutationBasis(
                True,
                "all passed",
                f"the representation is R^(G/H) summed over {len(cosets)} coset space(s) of subgroups of "
                f"orders {', '.join(str(h) for h, _ in cosets)}; in the basis T any continuous activation "
                "commutes with the group",
                group.order,
                candidate,
                exact,
                tuple(cosets),
            )
    return _fail("intertwiner", "no invertible intertwiner was found in 5 random draws", group.order)
