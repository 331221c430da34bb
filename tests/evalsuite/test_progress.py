"""The progress display on a terminal: each bar's last count is what stays on screen."""

from __future__ import annotations

import io

from rich.console import Console

from evalsuite.progress import Reporter


def test_each_finished_bar_leaves_its_final_count() -> None:
    out = io.StringIO()
    with Reporter(Console(file=out, force_terminal=True, width=100)) as progress:
        progress.start("baseline", 7)
        for done in range(1, 8):
            progress.update(done)
        progress.start("fbcache-0.05", 4)  # right after the last update, as a worker exits
        progress.update(3)
    text = out.getvalue()
    assert "baseline: 7/7 in" in text
    assert "fbcache-0.05: 3/4 in" in text  # a stopped variant shows where it stopped


def test_without_a_terminal_there_is_no_bar() -> None:
    out = io.StringIO()
    with Reporter(Console(file=out, force_terminal=False)) as progress:
        progress.start("baseline", 2)
        progress.update(2)
    assert progress.bar is None and out.getvalue() == ""
