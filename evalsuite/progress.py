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

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.live = sys.stderr.isatty()
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
            if self.task is not None:
                self.bar.remove_task(self.task)
            self.task = self.bar.add_task(description, total=total)

    def update(self, completed: int) -> None:
        """Set how many units are done (including the ``already_done`` given to ``start``)."""
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=completed - self.offset)
