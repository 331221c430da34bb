"""Fixtures shared by the evalsuite tests: the gate-smoke reference run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli_here


@pytest.fixture(scope="session")
def gate_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in ``gate-smoke`` suite run once, as a user pins a reference (docs/GATE.md).

    Tests that need a changed run copy this folder, change its suite and run it again, so
    only the changed variants are generated (the rest resume from the copy).
    """
    out = tmp_path_factory.mktemp("gate") / "reference"
    proc = run_cli_here("run", "gate-smoke", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out
