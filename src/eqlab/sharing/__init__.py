"""Equivariance through parameter sharing (Ravanbakhsh, Schneider & Póczos, ICML 2017).

The layers (`EquivariantLinear`, `EquivariantMLP`, `OrbitPool`, `SetLinear`, `GraphLinear`,
`SymmetricLinear`) are in `eqlab.nn`; this package holds what is particular to parameter sharing:

- `symmetry_group` finds every permutation pair that preserves a layer's weight tying, and so tells
  whether the layer is *uniquely* equivariant to its group (`PatternSymmetry.is_unique`);
- `Design` names the two ways of tying weights, ``"dense"`` and ``"sparse"``.

.. include:: README.md
"""

from __future__ import annotations

import warnings
from typing import Any

from eqlab.sharing._options import Design
from eqlab.sharing._symmetry import PatternSymmetry, symmetry_group

__all__ = ["Design", "PatternSymmetry", "symmetry_group"]


def __getattr__(name: str) -> Any:
    """``eqlab.sharing.EquivariantLinear``, the path of older READMEs: deprecated for
    ``eqlab.nn.EquivariantLinear``."""
    if name == "EquivariantLinear":
        warnings.warn(
            "eqlab.sharing.EquivariantLinear is deprecated; use eqlab.nn.EquivariantLinear",
            DeprecationWarning,
            stacklevel=2,
        )
        from eqlab.sharing._linear import EquivariantLinear

        return EquivariantLinear
    raise AttributeError(f"module 'eqlab.sharing' has no attribute {name!r}")
