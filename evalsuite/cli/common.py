"""What several commands share: the one way to open a run folder given on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evalsuite.errors import UserError
from evalsuite.store.paths import RESULTS, SUITE

if TYPE_CHECKING:
    from evalsuite.suite.spec import Suite


def load_run(run_dir: Path) -> Suite:
    """The run's suite; the one message for a folder that is not a run, whatever the command."""
    from evalsuite.suite.spec import load_suite

    if not (run_dir / SUITE).is_file() or not (run_dir / RESULTS).is_file():
        raise UserError(f"{run_dir}: not a run folder (it has no suite.toml and results.sqlite; "
                        "`evalsuite run` makes one)")
    return load_suite(str(run_dir / SUITE))
