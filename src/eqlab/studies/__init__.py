"""The studies of ``eqlab run``: one module per paper's experiment (config, typed results, run, report).

The registry is an explicit, ordered list of module names; adding a study means adding its module here.
``STUDIES`` imports a study's module when the study is first looked up, so running one study does not
import the others.
.. include:: README.md
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from eqlab.runs._study import Study

__all__ = ["STUDIES"]

_ORDER = ("sharing", "subsampling", "activations", "layerwise", "soft")
"""The studies' names, each the module ``eqlab.studies._<name>``, in the order ``eqlab list`` shows them."""


class _Registry(Mapping[str, Study]):
    """The studies by name, in the registry's order, each module imported on first lookup."""

    def __getitem__(self, name: str) -> Study:
        if name not in _ORDER:
            raise KeyError(name)
        study: Study = importlib.import_module(f"eqlab.studies._{name}").STUDY
        if study.name != name:
            raise RuntimeError(f"eqlab.studies._{name} defines the study {study.name!r}, not {name!r}")
        return study

    def __iter__(self) -> Iterator[str]:
        return iter(_ORDER)

    def __len__(self) -> int:
        return len(_ORDER)


STUDIES: Mapping[str, Study] = _Registry()
"""Every study of ``eqlab run``, by name, in the order ``eqlab list`` shows them."""
