"""`Representation`: a finite group acting linearly, given by the matrices of its generators.

The general case of an action: a permutation action is the representation by permutation matrices
(`Representation.from_permutations`, the convention of `eqlab.groups._perm`: ``P[p[i], i] = 1``).
Generator ``j`` of two representations of the same group must be the same group element, as for
actions. Elements are enumerated on demand by closure of the generator matrices (rounded to a
tolerance to recognise repeats), with a limit; an infinite group (a rotation by an irrational angle)
hits the limit and says so.

>>> rep = Representation.rotation(4)          # C4 rotating the plane by 90 degrees
>>> rep.dim, len(rep.elements())
(2, 4)
>>> import numpy as np
>>> bool(np.allclose(rep.character(), [2, 0, -2, 0]))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eqlab._arguments import describe, flag, integer, string
from eqlab.groups._group import Action, Group
from eqlab.groups._perm import as_permutations

__all__ = ["Representation", "as_matrix_stack", "closure", "rotation_matrix"]

_KEY_DECIMALS = 9


_GROWTH_LIMIT = 1e100
"""A product with a larger entry cannot belong to a finite group at float64 precision."""

_MATCH_TOLERANCE = 1e-10
"""Two matrices are one element when their entries agree to this, relative to the largest entry."""


def _key(matrix: np.ndarray) -> bytes:
    """Bytes identifying a matrix up to rounding; ``+ 0.0`` turns ``-0.0`` into ``0.0``."""
    return (np.round(matrix, _KEY_DECIMALS) + 0.0).tobytes()


def closure(generators: np.ndarray, limit: int, name: str = "the matrices") -> np.ndarray:
    """Every product of ``(k, n, n)`` generators, identity first, breadth-first: ``(order, n, n)``.

    Rounded keys find repeats in constant time; a key that is new is checked against the elements by
    distance before it counts, because a product of an ill-conditioned representation can round
    differently from the equal element already found and would otherwise split it in two.

    Raises
    ------
    ValueError
        when more than ``limit`` distinct matrices appear (an infinite or very large group).
    """
    limit = integer(limit, "limit", minimum=1)
    for j, g in enumerate(generators):
        det = abs(float(np.linalg.det(g)))
        if not abs(det - 1.0) <= 1e-9:
            raise ValueError(
                f"{name}: generator {j} has |det| = {det:.6g}, not 1, so it generates an infinite group; "
                "only a finite group's elements can be enumerated"
            )
    n = generators.shape[-1]
    buffer = np.empty((16, n, n))
    buffer[0] = np.eye(n)
    count, keys = 1, {_key(buffer[0])}
    start = 0
    while start < count:
        end = count
        for index in range(start, end):
            for g in generators:
                product = g @ buffer[index]
                if not np.abs(product).max() <= _GROWTH_LIMIT:
                    raise ValueError(
                        f"{name}: products of the generators grow beyond {_GROWTH_LIMIT:g} before the group "
                        "closes: it is infinite"
                    )
                key = _key(product)
                if key in keys:
                    continue
                keys.add(key)
                gap = np.abs(buffer[:count] - product).max(axis=(1, 2)).min()
                if gap <= _MATCH_TOLERANCE * max(1.0, float(np.abs(product).max())):
                    continue  # the same element, rounded differently
                if count >= limit:
                    raise ValueError(
                        f"{name} generates more than limit={limit} matrices: the group is infinite or "
                        "larger than the limit"
                    )
                if count == len(buffer):
                    buffer = np.concatenate([buffer, np.empty_like(buffer)])
                buffer[count] = product
                count += 1
        start = end
    return buffer[:count].copy()


def rotation_matrix(degrees: Any) -> np.ndarray:
    """The rotation of the plane by ``degrees`` (counter-clockwise), ``[[c, -s], [s, c]]``: shape
    ``(2, 2)`` for a number, ``(..., 2, 2)`` for an array of angles."""
    angle = np.radians(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


class Representation:
    """A representation by ``(k, n, n)`` real matrices of the generators.

    Parameters
    ----------
    generators
        ``(k, n, n)`` array-like: generator ``j`` acts on ``R^n`` by ``generators[j] @ x``.
    name
        A readable name.
    """

    generators: np.ndarray
    """``(k, n, n)`` float64, read-only: the matrices of the generators."""
    dim: int
    """``n``, the dimension of the space acted on."""
    num_generators: int
    """``k``, the number of generators."""
    name: str
    """A readable name for reprs and reports."""

    def __init__(self, generators: Any, name: str | None = None) -> None:
        mats = as_matrix_stack(generators, minimum=0)
        if name is not None:
            string(name, "name")
        mats.setflags(write=False)
        self.generators = mats
        self.dim = int(mats.shape[1])
        self.num_generators = int(mats.shape[0])
        self.name = name or f"Representation(dim {self.dim})"
        self._elements: np.ndarray | None = None

    @classmethod
    def from_permutations(cls, perms: Any, name: str | None = None) -> Representation:
        """The permutation representation of ``(k, n)`` permutations, an `Action` or a single-set `Group`."""
        if isinstance(perms, Action):
            stack = perms.generators
        elif isinstance(perms, Group):
            if len(perms.sizes) != 1:
                raise ValueError("pass one action of a group on several index sets, e.g. group.action(0)")
            stack = perms.generators[0]
        else:
            stack = as_permutations(perms, name="perms")
        k, n = stack.shape
        mats = np.zeros((k, n, n))
        for j, p in enumerate(stack):
            mats[j, p, np.arange(n)] = 1.0
        return cls(mats, name=name or "permutation representation")

    @classmethod
    def trivial(cls, dim: int, num_generators: int = 1, name: str | None = None) -> Representation:
        """Every generator acts as the identity on ``R^dim``."""
        return cls(np.broadcast_to(np.eye(dim), (num_generators, dim, dim)), name=name or f"trivial^{dim}")

    @classmethod
    def direct_sum(
        cls, *reps: Representation, name: str | None = None, joint: bool = False
    ) -> Representation:
        """Block-diagonal generators: ``rho_1 + rho_2 + ...`` (generator ``j`` of each is one element).

        The summands must be representations of one group: when every summand's group is finite (it
        closes within 10,000 elements) and the block-diagonal generators generate a larger group than
        every summand's own (a rotation by 90 degrees beside one by 120 generate C12), a `ValueError`
        names the offending generator, unless ``joint`` asks for the joint group. Summands whose groups
        cannot be enumerated (infinite ones, such as SO(2) rotations and b-monomial scales, which Theorem 1
        needs, and finite ones above 10,000 elements) are accepted as given, unchecked.
        """
        if not reps:
            raise ValueError("direct_sum needs at least one representation, got none")
        for i, r in enumerate(reps):
            if not isinstance(r, Representation):
                raise TypeError(f"reps[{i}] must be a Representation, got {type(r).__name__}")
        if len({r.num_generators for r in reps}) != 1:
            counts = ", ".join(str(r.num_generators) for r in reps)
            raise ValueError(f"direct_sum needs summands with the same number of generators, got {counts}")
        dim = sum(r.dim for r in reps)
        mats = np.zeros((reps[0].num_generators, dim, dim))
        start = 0
        for r in reps:
            mats[:, start : start + r.dim, start : start + r.dim] = r.generators
            start += r.dim
        out = cls(mats, name=name or " + ".join(r.name for r in reps))
        if not flag(joint, "joint") and len(reps) > 1:
            _require_one_group(reps, out)
        return out

    @classmethod
    def rotation(cls, n: int, degrees: float | None = None) -> Representation:
        """The plane rotated by ``360 / n`` degrees (C_n), or by ``degrees`` when given (finite only when
        ``degrees`` is a rational multiple of 360)."""
        angle = 360.0 / n if degrees is None else degrees
        return cls(rotation_matrix(angle)[None], name=f"rotation by {angle:g} degrees")

    def elements(self, limit: int = 10_000) -> np.ndarray:
        """All group elements as matrices, identity first, shape ``(order, n, n)``.

        Raises
        ------
        ValueError
            when more than ``limit`` distinct matrices appear (an infinite or very large group).
        """
        if self._elements is None:
            self._elements = closure(self.generators, limit, self.name)
        return self._elements

    def character(self, limit: int = 10_000) -> np.ndarray:
        """Traces of all elements, in the order of `elements`, shape ``(order,)``."""
        return np.trace(self.elements(limit), axis1=1, axis2=2)

    def __repr__(self) -> str:
        return f"Representation({self.name!r}, dim={self.dim}, generators={self.num_generators})"


def _order_or_none(rep: Representation, limit: int) -> int | None:
    try:
        return len(rep.elements(limit))
    except ValueError:
        return None


def _require_one_group(reps: tuple[Representation, ...], joined: Representation, limit: int = 10_000) -> None:
    """Raise when finite summands generate together a group larger than each one's own."""
    orders = [_order_or_none(r, limit) for r in reps]
    if any(o is None for o in orders):
        return  # an infinite (or very large) summand: its group cannot be compared by enumeration
    largest = max(o for o in orders if o is not None)
    together = _order_or_none(joined, max(limit, largest * largest))
    if together is not None and together <= largest:
        return
    count = "more than " + str(max(limit, largest * largest)) if together is None else str(together)
    detail = "the generators satisfy different relations in different summands"
    for j in range(reps[0].num_generators):
        own = [_matrix_order(r.generators[j]) for r in reps]
        if len(set(own)) > 1 and any(a % b and b % a for a in own for b in own):
            detail = f"generator {j} has order " + " and ".join(str(o) for o in own) + " in the summands"
            break
    raise ValueError(
        f"the summands are not representations of one group: their generators generate together a group "
        f"of order {count}, larger than each summand's own ({', '.join(map(str, orders))}); {detail}. "
        "Pass joint=True to use the joint group"
    )


def _matrix_order(matrix: np.ndarray, limit: int = 10_000) -> int:
    power = matrix.copy()
    for k in range(1, limit + 1):
        if np.allclose(power, np.eye(matrix.shape[0]), atol=1e-9):
            return k
        power = power @ matrix
    return 0


def as_matrix_stack(generators: Any, name: str = "generators", *, minimum: int = 1) -> np.ndarray:
    """``generators`` as a writable float64 ``(k, n, n)`` stack of invertible finite real matrices (a
    single ``(n, n)`` matrix is ``k = 1``; ``k`` at least ``minimum``); errors name the argument ``name``."""
    expected = "a (k, n, n) stack of real square matrices"
    if isinstance(generators, (str, bytes)) or generators is None:
        raise TypeError(f"{name} must be {expected}, got {describe(generators)}")
    if hasattr(generators, "detach"):
        generators = generators.detach().cpu().numpy()
    try:
        raw = np.asarray(generators)
    except ValueError:
        raise ValueError(f"{name} must be {expected}; got ragged nested lists") from None
    if raw.dtype == object or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool):
        raise TypeError(f"{name} must be {expected}, got an array of dtype {raw.dtype}")
    if np.iscomplexobj(raw):
        raise TypeError(f"{name} must be real, got an array of dtype {raw.dtype}")
    mats = np.array(raw, dtype=np.float64)
    if mats.ndim == 2:
        mats = mats[None]
    if mats.ndim != 3 or mats.shape[1] != mats.shape[2] or mats.shape[1] == 0 or mats.shape[0] < minimum:
        raise ValueError(f"{name} must be {expected} with n >= 1 and k >= {minimum}, got shape {mats.shape}")
    if not np.all(np.isfinite(mats)):
        raise ValueError(f"{name} must be finite, got NaN or infinite entries")
    for j, m in enumerate(mats):
        if abs(np.linalg.det(m)) < 1e-12:
            raise ValueError(f"{name}[{j}] is singular, so it cannot represent a group element")
    return mats


def paired_elements(
    rep_in: Representation, rep_out: Representation, limit: int = 10_000
) -> tuple[np.ndarray, np.ndarray]:
    """The elements of the group generated by the generator *pairs* acting on ``R^n_in (+) R^n_out``,
    as matrices on each side: ``(order, n_in, n_in)`` and ``(order, n_out, n_out)``."""
    for label, rep in (("rep_in", rep_in), ("rep_out", rep_out)):
        if not isinstance(rep, Representation):
            raise TypeError(f"{label} must be a Representation, got {describe(rep)}")
    if rep_in.num_generators != rep_out.num_generators:
        raise ValueError(
            f"rep_in has {rep_in.num_generators} generators but rep_out has {rep_out.num_generators}"
        )
    n_in = rep_in.dim
    blocks = np.zeros((rep_in.num_generators, n_in + rep_out.dim, n_in + rep_out.dim))
    blocks[:, :n_in, :n_in] = rep_in.generators
    blocks[:, n_in:, n_in:] = rep_out.generators
    both = Representation(blocks).elements(limit)
    return both[:, :n_in, :n_in], both[:, n_in:, n_in:]
