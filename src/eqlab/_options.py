"""`Option`: the base of every str enum of choices in eqlab (groups of layers, alignment methods,
likelihoods, verdict statuses, ...).

A member *is* its string (``Option`` subclasses ``str``), so ``Transform.HFLIP == "hflip"`` and code and
users may pass either. Each member carries a docstring: a string literal right after its definition,
which the API reference shows.

>>> class Colour(Option):
...     RED = "red"
...     '''The colour of stop signs.'''
>>> Colour.parse("red", "colour") is Colour.RED, str(Colour.RED)
(True, 'red')
>>> Colour.parse("blue", "colour")
Traceback (most recent call last):
...
ValueError: colour must be one of 'red', got 'blue'
"""

from __future__ import annotations

import enum
from typing import Any, TypeVar

from eqlab._arguments import describe

__all__ = ["Option"]

_O = TypeVar("_O", bound="Option")


class Option(str, enum.Enum):
    """A str enum of the choices of one argument."""

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """The members' strings, in definition order."""
        return tuple(str(m.value) for m in cls)

    @classmethod
    def parse(cls: type[_O], value: Any, name: str) -> _O:
        """The member named by ``value`` (a member or its string); errors name the argument ``name``."""
        listed = ", ".join(map(repr, cls.values()))
        if not isinstance(value, str):
            raise TypeError(f"{name} must be one of {listed}, got {describe(value)}")
        for member in cls:
            if member.value == value:
                return member
        raise ValueError(f"{name} must be one of {listed}, got {str(value)!r}")
