"""Representations by name (``"C4:rot2d"``) or from a file, for ``eqlab check-activation`` and the study.

Names are ``GROUP:REP``, optionally ``@ANGLEdeg`` for SO2:

| name | matrices |
| --- | --- |
| ``Cn:regular``, ``Dn:regular``, ``Sn:regular`` | the group permuting its own elements (Sn up to n = 5) |
| ``Cn:rot2d`` | the plane rotated by 360/n degrees |
| ``Dn:rot2d`` | that rotation and the reflection ``diag(1, -1)`` |
| ``Sn:perm`` | S_n permuting ``n`` coordinates |
| ``Sn:standard`` | the ``(n-1)``-dimensional irreducible part of ``Sn:perm`` in an orthonormal basis |
| ``Cn:sign``, ``Sn:sign``, ``Dn:sign`` | the 1-dimensional sign (``Cn``: n even; ``Dn``: the determinant) |
| ``SO2:rot2d@37deg`` | one rotation by the given angle |
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eqlab._arguments import string
from eqlab.activations._classes import as_matrices
from eqlab.groups._catalogue import cyclic, dihedral, regular, symmetric
from eqlab.groups._group import Group
from eqlab.groups._representation import Representation, rotation_matrix

__all__ = ["FILE_SUFFIXES", "NAMES", "load_matrices", "named_representation"]

NAMES = (
    "Cn:regular", "Cn:rot2d", "Cn:sign", "Dn:regular", "Dn:rot2d", "Dn:sign",
    "Sn:perm", "Sn:standard", "Sn:regular", "Sn:sign", "SO2:rot2d@ANGLEdeg",
)  # fmt: skip
FILE_SUFFIXES = (".npy", ".pt", ".json")
REGULAR_LIMIT = 120
"""The largest group order whose regular representation a name may ask for."""
DIMENSION_LIMIT = 1000
"""The most points ``Sn:perm``, ``Sn:standard`` and ``Sn:sign`` may act on."""

_PATTERN = re.compile(r"^(C|D|S)(\d+):(\w+)$|^SO2:rot2d@([-+0-9.eE]+)deg$")


def _sign(group: Group) -> np.ndarray:
    """The sign of each generator's permutation as ``(k, 1, 1)``."""
    signs = []
    for perm in group.generators[0]:
        seen, parity = np.zeros(len(perm), dtype=bool), 0
        for start in range(len(perm)):
            length = 0
            while not seen[start]:
                seen[start], start, length = True, int(perm[start]), length + 1
            parity += max(length - 1, 0)
        signs.append(-1.0 if parity % 2 else 1.0)
    return np.array(signs).reshape(-1, 1, 1)


def named_representation(name: str) -> Representation:
    """The representation a catalogue name stands for, as used by ``eqlab check-activation``.

    Parameters
    ----------
    name
        ``GROUP:REP``, with ``n`` an integer (``n >= 2``, ``n >= 3`` for ``Dn``):

        - ``"Cn:regular"``, ``"Dn:regular"``, ``"Sn:regular"``: the group permuting its own elements
          (at most 120 of them, so ``Sn`` up to ``n = 5``);
        - ``"Cn:rot2d"``: the plane rotated by ``360 / n`` degrees; ``"Dn:rot2d"``: that rotation and the
          reflection ``diag(1, -1)``;
        - ``"Sn:perm"``: ``S_n`` permuting ``n`` coordinates; ``"Sn:standard"``: its ``(n - 1)``-dimensional
          irreducible part (the sum-zero vectors) in an orthonormal basis;
        - ``"Cn:sign"`` (``n`` even), ``"Sn:sign"``, ``"Dn:sign"`` (the determinant): 1-dimensional signs;
        - ``"SO2:rot2d@ANGLEdeg"``: one rotation of the plane by ``ANGLE`` degrees (``"SO2:rot2d@37deg"``).

    Returns
    -------
    Representation
        The matrices of the group's generators, ``(k, n, n)``, named ``name``.

    Raises
    ------
    ValueError
        for a name of another form, an unknown representation of the group, or a size above the limits.

    Examples
    --------
    >>> rep = named_representation("D4:rot2d")
    >>> len(rep.generators), rep.generators[0].round(6).tolist()
    (2, [[0.0, -1.0], [1.0, 0.0]])
    """
    name = string(name, "name")
    match = _PATTERN.match(name.strip())
    if match is None:
        raise ValueError(f"representation name must look like one of {', '.join(NAMES)}, got {name!r}")
    if match.group(4) is not None:
        degrees = float(match.group(4))
        return Representation(rotation_matrix(degrees)[None], name=name)
    family, n, kind = match.group(1), int(match.group(2)), match.group(3)
    if n < 2 or (family == "D" and n < 3):
        raise ValueError(f"name {name!r}: n must be at least {3 if family == 'D' else 2}")
    # sizes are checked from n before any group is built: S100000 or C100000:regular would not fit
    if kind == "regular":
        order = {"C": n, "D": 2 * n, "S": math.factorial(min(n, 20))}[family]
        if order > REGULAR_LIMIT:
            raise ValueError(
                f"name {name!r}: the regular representation would have "
                f"{order if family != 'S' or n < 20 else 'n!'} dimensions (limit {REGULAR_LIMIT})"
            )
    elif kind in ("perm", "standard", "sign") and n > DIMENSION_LIMIT:
        raise ValueError(f"name {name!r}: n = {n} is above the limit of {DIMENSION_LIMIT} points")
    group = {"C": cyclic, "D": dihedral, "S": symmetric}[family](n)
    if kind == "regular":
        return Representation.from_permutations(regular(group).action(), name=name)
    if kind == "sign" and family == "D":  # the determinant: rotations +1, reflections -1
        return Representation(np.array([[[1.0]], [[-1.0]]]), name=name)
    if kind == "sign" and not (family == "C" and n % 2):
        return Representation(_sign(group), name=name)
    if kind == "rot2d" and family in "CD":
        mats = [rotation_matrix(360.0 / n)] + ([np.diag([1.0, -1.0])] if family == "D" else [])
        return Representation(np.stack(mats), name=name)
    if kind in ("perm", "standard") and family == "S":
        perm = np.asarray(Representation.from_permutations(group.action()).generators)
        if kind == "perm":
            return Representation(perm, name=name)
        # orthonormal basis of the sum-zero subspace: the last n-1 left singular vectors of the ones vector
        basis = np.linalg.svd(np.ones((n, 1)), full_matrices=True)[0][:, 1:]
        return Representation(basis.T @ perm @ basis, name=name)
    raise ValueError(f"name {name!r}: {family}n has no representation {kind!r}; known: {', '.join(NAMES)}")


def load_matrices(source: str) -> tuple[np.ndarray, str]:
    """``(k, n, n)`` matrices and a label from a catalogue name or a ``.npy`` / ``.pt`` / ``.json`` file."""
    path = Path(source)
    if path.suffix in FILE_SUFFIXES:
        if not path.is_file():
            raise ValueError(f"matrix file {source!r} does not exist")
        data: Any
        try:
            if path.suffix == ".npy":
                data = np.load(path, allow_pickle=False)
            elif path.suffix == ".pt":
                data = torch.load(path, map_location="cpu", weights_only=True)
            else:
                data = json.loads(path.read_text())
        except Exception as exc:  # any unreadable file is a bad argument, whatever the reader raised
            raise ValueError(f"matrix file {source!r} cannot be read as {path.suffix}: {exc}") from None
        try:
            return as_matrices(data), path.name
        except (TypeError, ValueError) as exc:
            raise ValueError(f"matrix file {source!r}: {exc}") from None
    rep = named_representation(source)
    return as_matrices(rep), rep.name
