"""`Study`: a paper's experiment as a frozen config dataclass, typed results, a ``run`` and a ``report``
function, its smoke-scale and paper-scale presets, and an estimate of the paper scale's cost."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eqlab._arguments import describe, flag, function, real, string
from eqlab.runs._config import (
    ConfigError,
    annotation_of,
    apply_overrides,
    check_ranges,
    config_keys,
    replace_path,
)
from eqlab.runs._cost import CostEstimate
from eqlab.runs._folder import RunFolder
from eqlab.runs._report import Report
from eqlab.runs._results import ResultsError, from_json, to_json

__all__ = ["SCALES", "Study", "config_from_dict"]


@dataclass(frozen=True)
class Study:
    """One study of ``eqlab run``."""

    name: str
    """The command-line name (``eqlab run NAME``)."""
    summary: str
    """One line for ``eqlab list``."""
    config: type
    """A frozen dataclass type whose defaults are the default scale, chosen to fit ``budget_minutes``
    on 2 CPU cores; its training settings nest (``train.epochs``)."""
    results: type
    """The dataclass type of the study's results (written to results.json by `to_json`)."""
    run: Callable[[Any, RunFolder], Any]
    """``run(config, run_dir) -> results``: a ``results`` instance, no timings."""
    report: Callable[[Any, Any, Path], Report]
    """``report(config, results, plots_dir) -> Report``: writes its plots and says what they show."""
    budget_minutes: float
    """The time the default scale is meant to take on 2 cores without a GPU."""
    quick: Mapping[str, Any] = field(default_factory=dict)
    """Values for ``--quick``, the smoke scale of the tests (about 15 s at most), by (dotted) key."""
    paper: Mapping[str, Any] = field(default_factory=dict)
    """Values for ``--set scale=paper``: the paper's epochs, widths and data sizes, by (dotted) key."""
    estimate: Callable[[Any, str], CostEstimate] | None = None
    """``estimate(config, device) -> CostEstimate``: the cost of running ``config`` on ``device``, timed
    on a few training steps and extrapolated (used for the paper preset)."""

    def __post_init__(self) -> None:
        string(self.name, "name")
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]*", self.name):
            raise ValueError(f"name must be one command-line word (letters, digits, _, -), got {self.name!r}")
        string(self.summary, "summary")
        if not (isinstance(self.config, type) and dataclasses.is_dataclass(self.config)):
            raise TypeError(
                f"config must be a dataclass type (the class, not an instance), got {describe(self.config)}"
            )
        if not (isinstance(self.results, type) and dataclasses.is_dataclass(self.results)):
            raise TypeError(f"results must be a dataclass type, got {describe(self.results)}")
        function(self.run, "run")
        function(self.report, "report")
        if self.estimate is not None:
            function(self.estimate, "estimate")
        object.__setattr__(self, "budget_minutes", real(self.budget_minutes, "budget_minutes", positive=True))
        keys = set(config_keys(self.config))
        for preset in ("quick", "paper"):
            values = getattr(self, preset)
            if not isinstance(values, Mapping):
                raise TypeError(f"{preset} must be a mapping of config key -> value, got {describe(values)}")
            unknown = sorted(str(k) for k in values if k not in keys)
            if unknown:
                raise ValueError(
                    f"{preset} names unknown config keys {unknown}; keys: {', '.join(sorted(keys))}"
                )
            object.__setattr__(self, preset, self._typed_preset(preset, values))

    def _typed_preset(self, preset: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """The ``preset``'s values read as their config fields' types (an int where a float is due
        becomes a float, a list where a tuple is due a tuple); a value of another type is refused,
        naming the preset and the key, and so is a preset whose config the settings refuse."""
        typed = {}
        for key, value in values.items():
            where = f"{preset}[{key!r}]"
            try:
                typed[key] = from_json(annotation_of(self.config, key), to_json(value), where)
            except (ResultsError, TypeError) as exc:
                message = str(exc) if where in str(exc) else f"{where}: {exc}"
                raise ConfigError(message) from None
        config = self.config()
        try:
            for key, value in typed.items():
                config = replace_path(config, key, value)
            check_ranges(config)
        except (TypeError, ValueError) as exc:  # the range checks, or a settings class's own
            raise ConfigError(f"{preset}: {exc}") from None
        return typed

    def default_config(self, quick: bool = False, scale: str = "default") -> Any:
        """The config of a scale: ``"default"`` (the defaults), ``"paper"`` (the paper preset), or the
        smoke scale with ``quick``."""
        quick = flag(quick, "quick")
        if scale not in SCALES:
            raise ConfigError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
        if quick and scale != "default":
            raise ConfigError(f"--quick and scale={scale} exclude each other: pick one scale")
        config = self.config()
        for key, value in (self.quick if quick else self.paper if scale == "paper" else {}).items():
            config = replace_path(config, key, value)
        return check_ranges(config)

    def configure(self, overrides: Mapping[str, str], quick: bool = False) -> Any:
        """The config of ``--set`` ``overrides`` (``scale`` picks the preset, then the rest apply)."""
        rest = {k: v for k, v in overrides.items() if k != "scale"}
        return apply_overrides(self.default_config(quick, overrides.get("scale", "default")), rest)


SCALES = ("default", "paper")
"""The presets ``--set scale=...`` chooses from (``--quick`` is the third, the tests' smoke scale)."""


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
    try:
        config = from_json(kind, dict(values), "values")
    except (ResultsError, TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    return check_ranges(config)
