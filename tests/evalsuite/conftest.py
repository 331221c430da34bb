"""Fixtures shared by the evalsuite tests: the gate-smoke reference run, and a run of it made
worse on purpose."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.ahead import Ahead, runs_ahead_of
from tests.conftest import REPO, hang_guard, run_cli
from tests.evalsuite.analysis import _broken_cache

GATE_SMOKE = REPO / "evalsuite" / "suites" / "gate-smoke.toml"


def run_gate_smoke(out: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m evalsuite run gate-smoke --out OUT`` in a fresh process."""
    return run_cli("run", "gate-smoke", "--out", str(out), env=env)


@runs_ahead_of("gate_reference")
def gate_smoke_reference(tmp: Path, env: dict[str, str]) -> tuple[Path, subprocess.CompletedProcess]:
    """The reference run of gate-smoke (a job started ahead, see tests/ahead.py)."""
    return tmp / "reference", run_gate_smoke(tmp / "reference", env)


@pytest.fixture(scope="session")
def gate_reference(ahead: Ahead) -> Path:
    """The built-in ``gate-smoke`` suite run once, as a user pins a reference (docs/GATE.md)."""
    out, proc = ahead(gate_smoke_reference)
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


SERVED = """
[[variant]]
name = "{name}"
[variant.endpoint]
protocol = "openai-images"
url = "{url}"
model = "tiny-flux"
concurrency = 2
"""


def worse_suite_text(served_twin: str, served_broken: str) -> str:
    """gate-smoke with two defects: ``fbcache-0.1`` keeps its name but its threshold is raised
    to 0.3, and a ``broken`` variant runs the broken First Block Cache (residual added twice).
    And two endpoint variants: ``served-fbcache-0.2``, a server running gate-smoke's own
    ``fbcache-0.2`` (equal settings: held to the local caches' band), and ``served-broken``,
    a server running the broken cache at 0.2 (a served engine's bug)."""
    text = GATE_SMOKE.read_text()
    raised = text.replace(
        "fbcache = { threshold = [0.1, 0.2, 0.4] }",
        'fbcache = { threshold = [0.2, 0.4] }\n\n[[variant]]\nname = "fbcache-0.1"\n'
        "fbcache = { threshold = 0.3 }")
    assert raised != text
    served = (SERVED.format(name="served-fbcache-0.2", url=served_twin)
              + SERVED.format(name="served-broken", url=served_broken))
    return raised.replace("[gate]", '[[variant]]\nname = "broken"\nbroken_fbcache = { threshold = 0.2 }'
                          f"\n{served}\n[gate]")


@pytest.fixture(scope="session")
def worse_run(gate_reference: Path, tmp_path_factory: pytest.TempPathFactory) -> WorseRun:
    """A copy of the reference run again, through the real CLI, under :func:`worse_suite_text`:
    only the changed variants are generated, the rest resume from the copy. The broken
    cache is installed for this CLI only, as a third-party plug-in (an entry point); the two
    servers run in this process, on loopback, for the length of the run."""
    from evalsuite.accelerators import ACCELERATORS
    from evalsuite.run.serve import config_from_args
    from evalsuite.suite.types import AcceleratorUse
    from tests.serving_helpers import serving

    tmp = tmp_path_factory.mktemp("worse")
    env = _broken_cache.install(tmp)
    run = tmp / "run"
    shutil.copytree(gate_reference, run)
    twin = config_from_args(None, str(GATE_SMOKE), "fbcache-0.2", "cpu", 4, 0, None)
    (fbcache,) = twin.accelerators  # the broken cache takes First Block Cache's parameters
    broken = replace(twin, accelerators=(AcceleratorUse("broken_fbcache", fbcache.params),))
    # The served broken cache is looked up in this process's registry for the server's
    # lifetime only (the run's own workers find theirs through the plug-in above).
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(ACCELERATORS._items, "broken_fbcache", _broken_cache.BrokenFirstBlockCache)
        with serving(twin) as twin_url, serving(broken) as broken_url:
            (tmp / "worse.toml").write_text(worse_suite_text(twin_url, broken_url))
            worse = WorseRun(run, env, "")
            proc = worse.cli("run", str(tmp / "worse.toml"), "--out", str(run))
    assert proc.returncode == 0, proc.stderr
    return worse._replace(output=proc.stdout + proc.stderr)

