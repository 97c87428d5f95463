"""Typed results: a study's results are dataclasses, written to JSON and read back by their type hints.

`to_json` turns dataclasses (and the lists, tuples and string-keyed dicts inside them) into plain JSON
values; `from_json(kind, value)` rebuilds ``kind`` from them, checking every field, so a results file
that does not fit its study is refused with the path of the first bad entry.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Unit:
...     seed: int
...     errors: tuple[float, ...]
...     note: str | None = None
>>> from_json(Unit, to_json(Unit(1, (0.5, 1e-13)))) == Unit(1, (0.5, 1e-13))
True
"""

from __future__ import annotations

import dataclasses
import numbers
import types
import typing
from collections.abc import Mapping
from typing import Any

from eqlab._arguments import describe

__all__ = ["ResultsError", "from_json", "to_json"]


class ResultsError(ValueError):
    """Saved results that do not fit the type they are read as (the message names the entry)."""


def to_json(value: Any) -> Any:
    """``value`` as JSON values: dataclasses become dicts of their fields, tuples lists, str enums
    their strings; numbers, strings, booleans and None stay."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"results dicts must have string keys, got {describe(key)}")
            out[key] = to_json(item)
        return out
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, numbers.Integral):  # numpy integers
        return int(value)
    if isinstance(value, numbers.Real):  # numpy floats
        return float(value)
    raise TypeError(
        f"results must hold dataclasses, lists, dicts, strings and numbers, got {describe(value)}"
    )


def from_json(kind: Any, value: Any, where: str = "results") -> Any:
    """Rebuild a value of type ``kind`` (a dataclass, ``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``,
    ``X | None``, a str enum, int, float, str, bool or Any) from its `to_json` form.

    Raises
    ------
    ResultsError
        naming the first entry (``where`` and its path) that does not fit.
    """
    if kind is Any:
        return value
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(value, Mapping):
            raise ResultsError(f"{where} must be an object of {kind.__name__} fields, got {describe(value)}")
        hints = typing.get_type_hints(kind)
        fields = {f.name: f for f in dataclasses.fields(kind) if f.init}
        unknown = sorted(str(k) for k in value if k not in fields)
        if unknown:
            raise ResultsError(f"{where} has unknown field(s) {unknown} for {kind.__name__}")
        out = {}
        for name, f in fields.items():
            if name in value:
                out[name] = from_json(hints[name], value[name], f"{where}.{name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ResultsError(f"{where} lacks the field {name!r} of {kind.__name__}")
        return kind(**out)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return from_json(option, value, where)
            except ResultsError as exc:
                errors.append(str(exc))
        raise ResultsError(errors[0] if len(errors) == 1 else f"{where} fits none of {kind}: {errors}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ResultsError(f"{where} must be a list, got {describe(value)}")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                raise ResultsError(f"{where} must have {len(args)} entries, got {len(value)}")
            return tuple(
                from_json(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
            )
        item = args[0] if args else Any
        items = [from_json(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ResultsError(f"{where} must be an object, got {describe(value)}")
        item = args[1] if args else Any
        return {str(k): from_json(item, v, f"{where}[{k!r}]") for k, v in value.items()}
    if kind is bool:
        if not isinstance(value, bool):
            raise ResultsError(f"{where} must be true or false, got {describe(value)}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ResultsError(f"{where} must be an integer, got {describe(value)}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ResultsError(f"{where} must be a number, got {describe(value)}")
        try:
            return float(value)
        except OverflowError:  # an integer beyond the float range
            raise ResultsError(
                f"{where} must be a number within the float range, got an integer of {len(str(value))} digits"
            ) from None
    if isinstance(kind, type) and issubclass(kind, str):
        if not isinstance(value, str):
            raise ResultsError(f"{where} must be a string, got {describe(value)}")
        try:
            return kind(value)
        except ValueError as exc:
            raise ResultsError(f"{where}: {exc}") from None
    raise TypeError(f"from_json cannot read the type {kind!r} at {where}")
