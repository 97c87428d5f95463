"""rich progress bars on stderr, shown only when stderr is a terminal (rich is imported only then, so
training code that shows a bar does not load it in scripts, pipes and tests)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from eqlab._arguments import integer, string

__all__ = ["Progress"]


class Progress:
    """A single progress bar: ``with Progress(total=10, description="train") as bar: bar.advance()``.

    Silent when stderr is not a terminal (CI, pipes, tests), so logs stay clean.
    """

    def __init__(self, total: int, description: str, completed: int = 0) -> None:
        total = integer(total, "total", minimum=0)
        description = string(description, "description", empty=True)
        completed = integer(completed, "completed", minimum=0, maximum=total)
        self.enabled = sys.stderr.isatty()
        self._bar: Any = None
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._bar.add_task(description, total=total, completed=completed)

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def advance(self, steps: int = 1) -> None:
        """Move the bar on by ``steps``."""
        steps = integer(steps, "steps", minimum=0)
        if self._bar is not None:
            self._bar.advance(self._task, steps)

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
