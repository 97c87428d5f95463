"""Study configs: frozen dataclasses, overridden by ``--set key=value`` with type checks.

A config may nest dataclasses (its training settings, say); their fields are addressed by dotted keys,
``train.epochs``.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo:
...     epochs: int = 3
...     sizes: tuple[int, ...] = (10, 20)
>>> apply_overrides(Demo(), {"epochs": "5", "sizes": "8,16,32"})
Demo(epochs=5, sizes=(8, 16, 32))
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from typing import Any

from eqlab._arguments import describe

__all__ = [
    "ConfigError",
    "annotation_of",
    "apply_overrides",
    "config_keys",
    "config_to_dict",
    "parse_assignments",
    "replace_path",
]


class ConfigError(ValueError):
    """A bad ``--set`` override: an unknown key or a value of the wrong type."""


def parse_assignments(items: list[str]) -> dict[str, str]:
    """Split ``["a=1", "b=x"]`` into ``{"a": "1", "b": "x"}``."""
    if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)):
        raise TypeError(f"items must be a list of 'key=value' strings, got {describe(items)}")
    out: dict[str, str] = {}
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"items must hold 'key=value' strings, got {describe(item)}")
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _parse_scalar(text: str, kind: type, key: str) -> Any:
    if kind is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key} expects a boolean (true/false), got {text!r}")
    if kind in (int, float, str):
        try:
            value = kind(text)
        except ValueError:
            raise ConfigError(f"{key} expects {kind.__name__}, got {text!r}") from None
        if isinstance(value, float) and math.isnan(value):
            raise ConfigError(f"{key} expects float (not NaN), got {text!r}")
        return value
    raise ConfigError(f"{key} has a type ({kind}) that --set cannot parse")


def _parse(text: str, annotation: Any, key: str, may_be_empty: bool = False) -> Any:
    origin = typing.get_origin(annotation)
    if origin is tuple:
        (item_type, *_rest) = typing.get_args(annotation)
        parts = [p for p in text.replace(" ", "").split(",") if p]
        if not parts and not may_be_empty:
            raise ConfigError(
                f"{key} expects a comma-separated list of {getattr(item_type, '__name__', item_type)} "
                f"values, got an empty value {text!r}"
            )
        return tuple(_parse_scalar(p, item_type, key) for p in parts)
    return _parse_scalar(text, annotation, key)


def _may_be_empty(kind: type, key: str) -> bool:
    """Whether the (dotted) tuple field ``key`` takes an empty value: its ``metadata["may_be_empty"]``
    (an empty list of layers to pool after is a design; an empty list of training sizes is a mistake)."""
    head, dot, rest = key.partition(".")
    found = {f.name: f for f in dataclasses.fields(kind)}[head]
    if dot:
        return _may_be_empty(typing.get_type_hints(kind)[head], rest)
    return bool(found.metadata.get("may_be_empty", False))


def config_keys(config: Any) -> list[str]:
    """Every key ``--set`` accepts for the dataclass ``config`` (or type): its fields, and the dotted
    keys of the fields of nested dataclasses."""
    kind = config if isinstance(config, type) else type(config)
    hints = typing.get_type_hints(kind)
    keys = []
    for f in dataclasses.fields(kind):
        inner = hints[f.name]
        if isinstance(inner, type) and dataclasses.is_dataclass(inner):
            keys += [f"{f.name}.{k}" for k in config_keys(inner)]
        else:
            keys.append(f.name)
    return keys


def replace_path(config: Any, key: str, value: Any) -> Any:
    """A copy of ``config`` with the (dotted) ``key`` set to ``value``, nested dataclasses rebuilt."""
    head, dot, rest = key.partition(".")
    if dot:
        return dataclasses.replace(config, **{head: replace_path(getattr(config, head), rest, value)})
    return dataclasses.replace(config, **{head: value})


def annotation_of(kind: type, key: str) -> Any:
    """The type annotation of the (dotted) ``key`` of the dataclass type ``kind``."""
    head, dot, rest = key.partition(".")
    hint = typing.get_type_hints(kind)[head]
    return annotation_of(hint, rest) if dot else hint


def apply_overrides(config: Any, overrides: Mapping[str, str]) -> Any:
    """A copy of the dataclass ``config`` with string ``overrides`` parsed to each field's type; a dotted
    key (``train.epochs``) sets a field of a nested dataclass.

    Raises
    ------
    ConfigError
        for an unknown key (listing the valid ones), an unparsable value, or one the settings refuse.
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"config must be a dataclass instance, got {describe(config)}")
    if not isinstance(overrides, Mapping):
        raise TypeError(f"overrides must be a mapping of key -> string value, got {describe(overrides)}")
    for key, value in overrides.items():
        if not isinstance(value, str):
            raise TypeError(f"overrides[{key!r}] must be a string to parse, got {describe(value)}")
    keys = config_keys(config)
    unknown = sorted(set(overrides) - set(keys))
    if unknown:
        raise ConfigError(f"unknown config key(s) {unknown}; valid keys: {', '.join(sorted(keys))}")
    for key, value in overrides.items():
        parsed = _parse(value, annotation_of(type(config), key), key, _may_be_empty(type(config), key))
        try:
            config = replace_path(config, key, parsed)
        except (TypeError, ValueError) as exc:  # a nested settings class checks its own values
            raise ConfigError(f"{key}: {exc}") from None
    return check_ranges(config)


def check_ranges(config: Any) -> Any:
    """``config`` when every number in it is in range: integers at least their field's
    ``metadata["minimum"]`` (default 1 for a single integer, a count, size or epoch; 0 for the entries of a
    tuple, which may be indices), floats finite and at least that minimum when one is given.

    Raises
    ------
    ConfigError
        naming the first field out of range.
    """
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            continue  # nested settings (TrainSettings, MarglikSettings) check their own values
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                continue
            default = (0 if isinstance(value, tuple) else 1) if isinstance(item, int) else None
            minimum = f.metadata.get("minimum", default)
            if isinstance(item, float) and not math.isfinite(item):
                raise ConfigError(f"{f.name} must be a finite number, got {item}")
            if minimum is not None and item < minimum:
                raise ConfigError(f"{f.name} must be at least {minimum}, got {item}")
    return config


def config_to_dict(config: Any) -> dict[str, Any]:
    """The config as a JSON-ready dict (tuples become lists)."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"config must be a dataclass instance, got {describe(config)}")
    from eqlab.runs._results import to_json

    return dict(to_json(config))
