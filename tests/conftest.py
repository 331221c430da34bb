"""Shared fixtures: one real smoke run (as a user would start it) reused by many tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m evalsuite ARGS`` in a subprocess and capture its output."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "evalsuite", *args], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default suite run once into a fresh folder with the real CLI."""
    out = tmp_path_factory.mktemp("smoke") / "run"
    proc = run_cli("run", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out
