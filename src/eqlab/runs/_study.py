"""`Study`: a paper's experiment as a frozen config dataclass, a ``run`` and a ``report`` function."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eqlab._arguments import describe, function, real, string
from eqlab.runs._config import ConfigError, check_ranges
from eqlab.runs._folder import RunFolder
from eqlab.runs._report import Report

__all__ = ["Study", "config_from_dict"]


@dataclass(frozen=True)
class Study:
    """One study of ``eqlab run``."""

    name: str
    """The command-line name (``eqlab run NAME``)."""
    summary: str
    """One line for ``eqlab list``."""
    config: type
    """A frozen dataclass type whose defaults are the default scale, chosen to fit ``budget_minutes``
    on 2 CPU cores."""
    run: Callable[[Any, RunFolder], dict[str, Any]]
    """``run(config, run_dir) -> results``: JSON-ready results, no timings."""
    report: Callable[[Any, dict[str, Any], Path], Report]
    """``report(config, results, plots_dir) -> Report``: writes its plots and says what they show."""
    budget_minutes: float
    """The time the default scale is meant to take on 2 cores without a GPU."""
    quick: Mapping[str, Any] = field(default_factory=dict)
    """Field values for ``--quick``, the smoke scale of the tests (about 15 s at most)."""

    def __post_init__(self) -> None:
        string(self.name, "name")
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]*", self.name):
            raise ValueError(f"name must be one command-line word (letters, digits, _, -), got {self.name!r}")
        string(self.summary, "summary")
        if not (isinstance(self.config, type) and dataclasses.is_dataclass(self.config)):
            raise TypeError(
                f"config must be a dataclass type (the class, not an instance), got {describe(self.config)}"
            )
        function(self.run, "run")
        function(self.report, "report")
        object.__setattr__(self, "budget_minutes", real(self.budget_minutes, "budget_minutes", positive=True))
        if not isinstance(self.quick, Mapping):
            raise TypeError(f"quick must be a mapping of config field -> value, got {describe(self.quick)}")
        fields = {f.name for f in dataclasses.fields(self.config)}
        unknown = sorted(str(k) for k in self.quick if k not in fields)
        if unknown:
            raise ValueError(
                f"quick names unknown config fields {unknown}; fields: {', '.join(sorted(fields))}"
            )

    def default_config(self, quick: bool = False) -> Any:
        """The default-scale config, or the smoke-scale one with ``quick``."""
        base = self.config()
        return dataclasses.replace(base, **self.quick) if quick else base


def _conforms(value: Any, annotation: Any) -> bool:
    """Whether a JSON value fits a config field's annotation (annotations it cannot read pass)."""
    if annotation is Any:
        return True
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if annotation is type(None):
        return value is None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        if origin is tuple and args:
            return len(value) == len(args) and all(_conforms(v, a) for v, a in zip(value, args, strict=True))
        return all(_conforms(v, args[0]) for v in value) if args else True
    return True


def _type_name(annotation: Any) -> str:
    name = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return f"of type {name}"


def config_from_dict(kind: type, values: Mapping[str, Any]) -> Any:
    """Rebuild a config dataclass from its JSON form (lists back to tuples).

    Raises
    ------
    ConfigError
        for an unknown or missing field, or a value of the wrong type, naming it.
    """
    if not (isinstance(kind, type) and dataclasses.is_dataclass(kind)):
        raise TypeError(f"kind must be a dataclass type, got {describe(kind)}")
    if not isinstance(values, Mapping):
        raise TypeError(f"values must be a mapping of field -> value, got {describe(values)}")
    hints = typing.get_type_hints(kind)
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = sorted(str(k) for k in values if k not in fields)
    if unknown:
        raise ConfigError(
            f"values has unknown field(s) {unknown} for {kind.__name__}; fields: {', '.join(sorted(fields))}"
        )
    required = [
        name
        for name, f in fields.items()
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in values]
    if missing:
        raise ConfigError(f"values lacks the field(s) {missing} of {kind.__name__}")
    for key, value in values.items():
        if key in hints and not _conforms(value, hints[key]):
            raise ConfigError(f"values[{key!r}] must be {_type_name(hints[key])}, got {describe(value)}")
    converted = {
        k: tuple(v) if typing.get_origin(hints.get(k)) is tuple and isinstance(v, list) else v
        for k, v in values.items()
    }
    return check_ranges(kind(**converted))
