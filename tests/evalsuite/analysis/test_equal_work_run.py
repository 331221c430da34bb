"""Equal work on a real run: a deliberately broken cache is flagged, the real ones are not.

The broken cache (tests/evalsuite/analysis/_broken_cache.py) adds the cached residual twice
on every skipped step, as vllm-omni's MagCache did (PR #5561). It is installed only here, as a
third-party plug-in: a distribution on PYTHONPATH whose entry point registers it in the
accelerator registry's group, so the run's workers find it as any user's plug-in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, hang_guard

PLUGIN = Path(__file__).with_name("_broken_cache.py")
GATE_SMOKE = REPO / "evalsuite" / "suites" / "gate-smoke.toml"


def _install_plugin(where: Path) -> dict[str, str]:
    """A one-module distribution with an ``evalsuite.accelerators`` entry point; the env to use it."""
    shutil.copy(PLUGIN, where / "evalsuite_broken_cache.py")
    info = where / "evalsuite_broken_cache-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evalsuite-broken-cache\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text(
        "[evalsuite.accelerators]\nbroken_fbcache = evalsuite_broken_cache:BrokenFirstBlockCache\n")
    return {**os.environ, "PYTHONPATH": str(where), "PYTHONUNBUFFERED": "1"}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evalsuite", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=hang_guard())


@pytest.fixture(scope="module")
def broken_run(gate_reference: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The gate-smoke reference plus the broken cache, run through the real CLI (only the broken
    variant is generated; the rest resume from the copied reference)."""
    tmp = tmp_path_factory.mktemp("broken")
    env = _install_plugin(tmp)
    run = tmp / "run"
    shutil.copytree(gate_reference, run)
    suite = tmp / "broken.toml"
    suite.write_text(GATE_SMOKE.read_text().replace(
        "[gate]", '[[variant]]\nname = "broken"\nbroken_fbcache = { threshold = 0.2 }\n\n[gate]'))
    proc = _cli(env, "run", str(suite), "--out", str(run))
    assert proc.returncode == 0, proc.stderr
    return run, env


def test_the_broken_cache_is_an_implementation_outlier_and_the_real_ones_are_not(
        broken_run: tuple[Path, dict[str, str]]) -> None:
    run, _ = broken_run
    ew = json.loads((run / "summary.json").read_text())["equal_work"]
    outliers = [c for c in ew["checks"] if c["outlier"]]
    assert {c["variant"] for c in outliers} == {"broken"}
    assert {c["metric"] for c in outliers} == {"psnr", "ssim"}
    assert all("implementation outlier" in c["note"] and "a candidate bug" in c["note"]
               and c["direction"] == "worse" for c in outliers)
    impls = {p["implementation"] for p in ew["points"]}
    assert impls >= {"fbcache", "cache_dit", "teacache", "magcache", "broken_fbcache"}
    # every real implementation was checked against a band somewhere, not waved through
    banded = {p["implementation"] for p in ew["points"]
              for c in ew["checks"] if c["variant"] == p["variant"] and c["band"] is not None}
    assert banded >= {"fbcache", "cache_dit", "teacache", "magcache"}
    html = (run / "report" / "index.html").read_text()
    assert "Implementations at equal work" in html and "implementation outlier" in html


def test_the_gate_fails_a_run_with_an_implementation_outlier(
        broken_run: tuple[Path, dict[str, str]], gate_reference: Path) -> None:
    run, env = broken_run
    proc = _cli(env, "gate", str(run), "--reference", str(gate_reference), "--speedup-tolerance", "0.9")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL broken: implementation outlier" in proc.stdout
    assert "note: broken: not in the reference, not gated" in proc.stdout
