"""`Study`: a paper's experiment as a frozen config dataclass, a ``run`` and a ``report`` function."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eqlab.runs.folder import RunFolder
from eqlab.runs.report import Report

__all__ = ["Study", "config_from_dict"]


@dataclass(frozen=True)
class Study:
    """One study of ``eqlab run``.

    Attributes
    ----------
    name
        The command-line name (``eqlab run NAME``).
    summary
        One line for ``eqlab list``.
    config
        A frozen dataclass type whose defaults are the default scale, chosen to fit ``budget_minutes``
        on 2 CPU cores.
    run
        ``run(config, run_dir) -> results``: JSON-ready results, no timings.
    report
        ``report(config, results, plots_dir) -> Report``: writes its plots and says what they show.
    budget_minutes
        The time the default scale is meant to take on 2 cores without a GPU.
    quick
        Field values for ``--quick``, the smoke scale of the tests (about 15 s at most).
    """

    name: str
    summary: str
    config: type
    run: Callable[[Any, RunFolder], dict[str, Any]]
    report: Callable[[Any, dict[str, Any], Path], Report]
    budget_minutes: float
    quick: Mapping[str, Any] = field(default_factory=dict)

    def default_config(self, quick: bool = False) -> Any:
        """The default-scale config, or the smoke-scale one with ``quick``."""
        base = self.config()
        return dataclasses.replace(base, **self.quick) if quick else base


def config_from_dict(kind: type, values: Mapping[str, Any]) -> Any:
    """Rebuild a config dataclass from its JSON form (lists back to tuples)."""
    hints = typing.get_type_hints(kind)
    converted = {
        k: tuple(v) if typing.get_origin(hints.get(k)) is tuple and isinstance(v, list) else v
        for k, v in values.items()
    }
    return kind(**converted)
