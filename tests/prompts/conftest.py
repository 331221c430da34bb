"""Fixtures for the prompt tests: the real upstream files, read from ../shared/datasets.

The files are never copied into the repository (DrawBench has no license); the tests skip
when the shared folder is absent. ``EVALSUITE_SHARED_DATASETS`` names another place for it
(a worktree outside the checkout's parent folder).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("EVALSUITE_SHARED_DATASETS")
              or Path(__file__).resolve().parents[2].parent / "shared" / "datasets")


@pytest.fixture(scope="session")
def shared() -> Path:
    """The folder holding drawbench/, partiprompts/, hpsv2/, geneval/ and vbench/."""
    if not SHARED.is_dir():
        pytest.skip(f"upstream prompt files not found at {SHARED}")
    return SHARED
