"""The bad-input battery's machinery: a case is one call with one bad argument, and its outcome is

- ``clear``: a ``ValueError`` / ``TypeError`` (for the CLI: exit code 2) whose message names the argument;
- ``obscure``: any other exception, or a message that does not name the argument (a traceback from deep
  inside torch, numpy or Python, an exit code other than 2);
- ``silent``: no error at all.

Cases are built from one valid call by replacing one argument (`mutate`), so the error can only come
from that argument; `valid_calls` lists those valid calls, and a test checks that each one succeeds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Thunk = Callable[[], Any]


@dataclass(frozen=True)
class Case:
    """One bad call.

    Attributes
    ----------
    entry
        The public path of the entry point (``"eqlab.groups.cyclic"``, ``"eqlab check-activation"``).
    argument
        The argument whose value is bad; the message must name it.
    label
        What is bad about it, in a few words (the pytest id).
    call
        Makes the call.
    names
        Strings of which the message must contain one (default: the argument's name).
    """

    entry: str
    argument: str
    label: str
    call: Thunk
    names: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.entry}:{self.argument}:{self.label}"


@dataclass(frozen=True)
class Outcome:
    kind: str  # "clear", "obscure" or "silent"
    detail: str


@dataclass
class Battery:
    """The cases and valid calls of one part of the public surface."""

    cases: list[Case] = field(default_factory=list)
    valid: list[tuple[str, Thunk]] = field(default_factory=list)

    def mutate(
        self,
        entry: str,
        fn: Callable[..., Any],
        valid: Callable[[], dict[str, Any]] | dict[str, Any],
        bad: dict[str, Sequence[tuple[str, Any]]],
        *,
        args: Callable[[], tuple[Any, ...]] | tuple[Any, ...] = (),
        names: dict[str, tuple[str, ...]] | None = None,
        then: Callable[[Any], Any] | None = None,
    ) -> None:
        """Add the valid call ``fn(*args, **valid)`` and, for every ``(label, value)`` in ``bad[arg]``,
        the same call with ``arg`` replaced by ``value``.

        ``valid`` and ``args`` may be factories, called afresh for every case (fresh tensors, fresh
        modules). ``then`` is applied to the result, for entry points whose errors surface at first use
        (a layer's forward pass, say): ``then(layer)``.
        """
        make_kwargs = valid if callable(valid) else (lambda: dict(valid))  # type: ignore[arg-type]
        make_args = args if callable(args) else (lambda: tuple(args))  # type: ignore[arg-type]

        def call(**replace: Any) -> Any:
            kwargs = make_kwargs()
            kwargs.update(replace)
            out = fn(*make_args(), **kwargs)
            return then(out) if then is not None else out

        self.valid.append((entry, call))
        for argument, values in bad.items():
            for label, value in values:
                self.cases.append(
                    Case(
                        entry,
                        argument,
                        label,
                        (lambda a=argument, v=value: call(**{a: v})),
                        (names or {}).get(argument, ()),
                    )
                )

    def add(self, entry: str, argument: str, label: str, call: Thunk, names: Iterable[str] = ()) -> None:
        """Add one hand-written case."""
        self.cases.append(Case(entry, argument, label, call, tuple(names)))

    def add_valid(self, entry: str, call: Thunk) -> None:
        """Add one hand-written valid call."""
        self.valid.append((entry, call))

    def extend(self, other: Battery) -> None:
        self.cases.extend(other.cases)
        self.valid.extend(other.valid)


def _names_argument(message: str, case: Case) -> bool:
    wanted = case.names or (case.argument,)
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(w)}(?![A-Za-z0-9_])", message) for w in wanted)


def run_case(case: Case) -> Outcome:
    """Call the case and classify what happened."""
    try:
        result = case.call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if _names_argument(message, case):
            return Outcome("clear", f"{type(exc).__name__}: {message}")
        return Outcome("obscure", f"{type(exc).__name__} without naming {case.argument!r}: {message}")
    except Exception as exc:  # classifying every failure is the point
        return Outcome("obscure", f"{type(exc).__name__}: {exc}")
    if isinstance(result, CliResult):
        return result.outcome(case)
    return Outcome("silent", f"accepted, returned {type(result).__name__}")


@dataclass(frozen=True)
class CliResult:
    """What a CLI invocation gave: its exit code and its output."""

    exit_code: int
    output: str
    exception: BaseException | None

    def outcome(self, case: Case) -> Outcome:
        if self.exit_code == 2:
            if _names_argument(self.output, case):
                return Outcome("clear", self.output.strip().splitlines()[-1] if self.output.strip() else "")
            return Outcome("obscure", f"exit 2 without naming {case.argument!r}: {self.output.strip()}")
        if self.exit_code in (0, 1):
            return Outcome("silent", f"exit {self.exit_code}: {self.output.strip()[-200:]}")
        detail = f"{type(self.exception).__name__}: {self.exception}" if self.exception else self.output
        return Outcome("obscure", f"exit {self.exit_code}: {detail.strip()[-300:]}")


def invoke(args: list[str]) -> CliResult:
    """Run the ``eqlab`` command in-process with ``args``."""
    from typer.testing import CliRunner

    from eqlab._cli import app

    result = CliRunner().invoke(app, args)
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return CliResult(result.exit_code, result.output, exception)
