"""Fixtures shared by the evalsuite tests: the gate-smoke reference run, and a run of it made
worse on purpose."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.conftest import REPO, hang_guard, run_cli_here
from tests.evalsuite.analysis import _broken_cache

GATE_SMOKE = REPO / "evalsuite" / "suites" / "gate-smoke.toml"


@pytest.fixture(scope="session")
def gate_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in ``gate-smoke`` suite run once, as a user pins a reference (docs/GATE.md)."""
    out = tmp_path_factory.mktemp("gate") / "reference"
    proc = run_cli_here("run", "gate-smoke", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


class WorseRun(NamedTuple):
    """A run made worse on purpose, and the environment its CLI needs (the plug-in)."""

    path: Path
    env: dict[str, str]
    output: str  # what `evalsuite run` printed

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """``python -m evalsuite ARGS`` with the broken cache's plug-in installed."""
        return subprocess.run([sys.executable, "-m", "evalsuite", *args], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=hang_guard())


def worse_suite_text() -> str:
    """gate-smoke with two defects: ``fbcache-0.1`` keeps its name but its threshold is raised
    to 0.3, and a ``broken`` variant runs the broken First Block Cache (residual added twice)."""
    text = GATE_SMOKE.read_text()
    raised = text.replace(
        "fbcache = { threshold = [0.1, 0.2, 0.4] }",
        'fbcache = { threshold = [0.2, 0.4] }\n\n[[variant]]\nname = "fbcache-0.1"\n'
        "fbcache = { threshold = 0.3 }")
    assert raised != text
    return raised.replace("[gate]", '[[variant]]\nname = "broken"\nbroken_fbcache = { threshold = 0.2 }'
                          "\n\n[gate]")


@pytest.fixture(scope="session")
def worse_run(gate_reference: Path, tmp_path_factory: pytest.TempPathFactory) -> WorseRun:
    """A copy of the reference run again, through the real CLI, under :func:`worse_suite_text`:
    only the two changed variants are generated, the rest resume from the copy. The broken
    cache is installed for this CLI only, as a third-party plug-in (an entry point)."""
    tmp = tmp_path_factory.mktemp("worse")
    env = _broken_cache.install(tmp)
    run = tmp / "run"
    shutil.copytree(gate_reference, run)
    (tmp / "worse.toml").write_text(worse_suite_text())
    worse = WorseRun(run, env, "")
    proc = worse.cli("run", str(tmp / "worse.toml"), "--out", str(run))
    assert proc.returncode == 0, proc.stderr
    return worse._replace(output=proc.stdout + proc.stderr)


VIDEO_SUITE = """
name = "video-mini"
baseline = "baseline"

[model]
id = "tiny-wan22"
steps = 3
device = "cpu"

[prompts]
sets = ["video_smoke"]
limit = 2
seeds = [0]

[run]
warmup = 0
drift_images = 0
trace_images = 0

[metrics]
use = ["psnr_video"]

[[variant]]
name = "baseline"

[[variant]]
name = "fbcache"
fbcache = { threshold = 0.2 }
"""


@pytest.fixture(scope="session")
def video_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-clip tiny Wan 2.2 suite at 3 steps: its high-noise expert runs one step per clip
    (nothing a cache may skip), its low-noise expert two (FBCache at 0.2 skips the second)."""
    path = tmp_path_factory.mktemp("video") / "video-mini.toml"
    path.write_text(VIDEO_SUITE)
    return path


@pytest.fixture(scope="session")
def video_run(video_suite: Path) -> Path:
    """:func:`video_suite` run once in process (the run folder): the clips, rows and scores
    the storage, accounting, scoring and kill tests read."""
    out = video_suite.parent / "run"
    proc = run_cli_here("run", str(video_suite), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out
