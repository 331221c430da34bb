"""Progress for long work: a rich bar with ETA on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import (
    Progress as RichProgress,
)


class Progress(Protocol):
    """What the orchestration reports to: lines, and one bar per variant."""

    def __call__(self, message: str) -> None:
        """Print a line."""

    def start(self, description: str, total: int, already_done: int = 0) -> None:
        """Begin a bar for ``total`` units."""

    def update(self, completed: int) -> None:
        """Set how many units are done."""


class Reporter:
    """Messages and one bar per task; a no-frills fallback when stderr is not a terminal."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal if console else sys.stderr.isatty()
        self.bar: RichProgress | None = None
        self.task: int | None = None
        self.offset = 0

    def __enter__(self) -> Reporter:
        if self.live:
            self.bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                console=self.console)
            self.bar.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.bar is not None:
            self._finish()
            self.bar.__exit__(exc_type, exc, tb)

    def __call__(self, message: str) -> None:
        """Print a line (above the bar when there is one)."""
        if self.bar is not None:
            self.bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=sys.stderr, flush=True)

    def start(self, description: str, total: int, already_done: int = 0) -> None:
        """Begin a bar for ``total`` units of work; ``update`` counts will include ``already_done``."""
        self.offset = already_done
        if self.bar is not None:
            self._finish()
            self.task = self.bar.add_task(description, total=total)

    def _finish(self) -> None:
        """Replace the current bar by a line with its final count.

        The live display redraws a few times a second, so a bar removed right after its
        last update would leave its previous drawing (say 6/7) as the last one seen.
        """
        if self.bar is None or self.task is None:
            return
        task = next(t for t in self.bar.tasks if t.id == self.task)
        self.bar.remove_task(self.task)
        self.task = None
        self(f"{task.description}: {int(task.completed)}/{int(task.total or 0)} "
             f"in {task.elapsed or 0.0:.1f} s")

    def update(self, completed: int) -> None:
        """Set how many units are done (including the ``already_done`` given to ``start``)."""
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=completed - self.offset)
