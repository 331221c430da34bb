"""Shared fixtures: one real smoke run (as a user would start it) reused by many tests.

How the suite stays fast and deterministic (issue 18 §3, issue 17 item 10):

- A fresh interpreter costs a torch + diffusers import in the runner and another in its
  forkserver. Run the CLI with :func:`run_cli_here` unless the process itself is the point
  (imports, shutdown, a kill, torchrun, what a library prints on its own): then :func:`run_cli`,
  and where the subprocess needs nothing from the test while it runs, as a job started ahead
  on the machine's other core (tests/ahead.py: the shared smoke, gate-smoke and families-smoke
  runs, the kill launches, the torchrun launches, the scripts).
- Share end-to-end runs through session or module fixtures, and copy a run folder to change
  it (a rerun resumes); no two tests generate the same images.
- Every wait is bounded by :func:`hang_guard`, never by a number of seconds or ticks.
- A test that must act mid-run orders it instead of racing it: workers that hold after N
  stored images (``tests/evalsuite/run/_gated_worker.py``), a fault server that answers N
  requests and then hangs; and it waits for a killed run's processes to be gone
  (``tests/processes.py``) instead of sleeping.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ahead import Ahead, jobs_in_order, runs_ahead_of

REPO = Path(__file__).resolve().parents[1]

# One OpenMP/MKL thread per process, set before anything imports torch: the tests' tiny
# models gain nothing from a second thread, and on a shared 2-core machine two spinning
# threads per process made each image about 2x slower (workers and CLI runs inherit this).
# A user's own setting wins.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


# Guards against hangs, never against slowness: a shared 2-core machine under load can take
# minutes for what takes seconds when quiet, so every wait in the tests uses this bound, which
# only a stuck process reaches (CI's whole budget is 90 minutes). Override for a debug session.
HANG_GUARD_S = float(os.environ.get("EVALSUITE_TEST_HANG_GUARD_S", "3600"))


def hang_guard() -> float:
    """The time limit for any one wait in a test (a subprocess, a poll loop, a browser call)."""
    return HANG_GUARD_S


def run_cli(*args: str, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m evalsuite ARGS`` in a subprocess and capture its output; in ``env``
    (by default this process's environment), as a job started ahead must (tests/ahead.py)."""
    env = {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "evalsuite", *args], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=hang_guard(), env=env)


def run_cli_here(*args: str) -> subprocess.CompletedProcess:
    """``evalsuite ARGS`` through the CLI's own ``main`` in this process, as :func:`run_cli`
    would run it: the same parsing, printed lines and exit code, returned the same way.

    A fresh interpreter costs a torch + diffusers import in the runner and another in its
    forkserver (about 10 s of CPU); here the test process has imported them already and the
    forkserver started by the first run serves every later one. Keep :func:`run_cli` where the
    process is the point: imports, exit at shutdown, signals, a kill, a torchrun launch, and
    what a library logs or warns on its own (only ``print``-level output is captured here).
    """
    from evalsuite.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(REPO), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own exits (--help, a bad flag)
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return subprocess.CompletedProcess(["evalsuite", *args], code, out.getvalue(), err.getvalue())


@runs_ahead_of("smoke_cli")
def smoke(tmp: Path, env: dict[str, str]) -> tuple[Path, subprocess.CompletedProcess]:
    """``python -m evalsuite run --out RUN``: the default suite as a user starts it, in a
    fresh process (a job started ahead, see tests/ahead.py)."""
    out = tmp / "run"
    proc = run_cli("run", "--out", str(out), env=env)
    return out, proc


@pytest.fixture(scope="session")
def smoke_cli(ahead: Ahead) -> tuple[Path, subprocess.CompletedProcess]:
    """The default suite run once into a fresh folder: the folder and what ``evalsuite run``
    printed (see :func:`smoke`)."""
    out, proc = ahead(smoke)
    assert proc.returncode == 0, proc.stderr
    return out, proc


@pytest.fixture(scope="session")
def smoke_run(smoke_cli: tuple[Path, subprocess.CompletedProcess]) -> Path:
    """The default suite's run folder (see ``smoke_cli``)."""
    return smoke_cli[0]


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
    the storage, accounting, scoring and kill tests and the report tests read."""
    out = video_suite.parent / "run"
    proc = run_cli_here("run", str(video_suite), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="session", autouse=True)
def ahead(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ahead]:
    """Takes the result of a job started ahead of its test (see tests/ahead.py); the jobs of
    every selected test start in the background as the session's first test starts."""
    runner = Ahead(jobs_in_order(request.session.items), tmp_path_factory.mktemp, os.environ, hang_guard())
    runner.start()
    yield runner
    runner.close()
