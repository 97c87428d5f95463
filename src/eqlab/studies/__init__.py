"""The studies of ``eqlab run``: one module per paper's experiment (config, typed results, run, report).

The registry is an explicit, ordered list of module names; adding a study means adding its module here.
``STUDIES`` imports them on first use, so importing one study does not import the others.
.. include:: README.md
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["STUDIES"]

_ORDER = ("sharing", "subsampling", "activations", "layerwise", "soft")
"""The studies' module names (``eqlab.studies._<name>``), in the order ``eqlab list`` shows them."""


def __getattr__(name: str) -> Any:
    if name != "STUDIES":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    studies = {}
    for module in _ORDER:
        study = importlib.import_module(f"eqlab.studies._{module}").STUDY
        studies[study.name] = study
    globals()["STUDIES"] = studies  # later lookups find it without this function
    return studies
