"""The implementation of eqlab's group convolutions (Cohen & Welling 2016) for any point group of the
plane (p4, p4m, rot180, hflip, vflip): lifting and group convolutions computed with one ``conv2d``,
pooling over space and over the group axis, and group batch norm.

Import the layers from `eqlab.nn` and the point groups from `eqlab.groups`; this package exports no
names of its own. ``eqlab.gconv.LiftingConv2d``, ``GroupConv2d`` and ``point_group``, which an earlier
README used, still resolve, with a ``DeprecationWarning``.
.. include:: README.md
"""

from __future__ import annotations

import warnings
from typing import Any

__all__: list[str] = []

_DEPRECATED = {
    "LiftingConv2d": ("eqlab.gconv._conv", "eqlab.nn"),
    "GroupConv2d": ("eqlab.gconv._conv", "eqlab.nn"),
    "point_group": ("eqlab.groups._point", "eqlab.groups"),
}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        import importlib

        module, new = _DEPRECATED[name]
        warnings.warn(
            f"eqlab.gconv.{name} is deprecated; import it from {new}", DeprecationWarning, stacklevel=2
        )
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'eqlab.gconv' has no attribute {name!r}")
