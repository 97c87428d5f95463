"""eqlab: symmetry in neural networks.

Build layers that are equivariant to a finite group, check whether a layer or a network really is,
measure how a trained network encodes a symmetry, and learn how much symmetry each layer should have.

Subpackages load on first use (``eqlab.groups``, ``eqlab.nn``, ...), so ``import eqlab`` is cheap.

>>> import eqlab
>>> eqlab.groups.dihedral(5).order
10
"""

from __future__ import annotations

import importlib
from typing import Any

from eqlab._version import __version__

_SUBPACKAGES = (
    "activations",
    "bayes",
    "data",
    "exactness",
    "gconv",
    "groups",
    "layerwise",
    "nn",
    "runs",
    "sharing",
    "studies",
    "testing",
    "trace",
    "train",
)

__all__: list[str] = []


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"eqlab.{name}")
    raise AttributeError(f"module 'eqlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBPACKAGES])
