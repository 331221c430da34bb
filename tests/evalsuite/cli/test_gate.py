"""``evalsuite gate``: passes a rerun, fails a run made worse on purpose, refuses bad input.

The reference is the session's gate-smoke run; the rerun is the same suite run again into a
fresh folder; the worse run is a copy of the reference whose ``fbcache-0.1`` variant keeps
its name but has its threshold raised, run through the real code (only it is generated).
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evalsuite.suite.spec import load_suite
from tests.conftest import REPO, run_cli_here

GATE_SMOKE = REPO / "evalsuite" / "suites" / "gate-smoke.toml"
# Speedups are timed on a shared machine: the rerun's must only stay within 10x of the
# reference's (the check itself is tested on fixed numbers in tests/reports/test_gate.py).
LOOSE_SPEED = ("--speedup-tolerance", "0.9")


def test_gate_smoke_suite_is_pinned_on_tiny_models_on_cpu() -> None:
    suite = load_suite("gate-smoke")
    assert suite.model.device == "cpu" and suite.model.id.startswith("tiny")
    assert suite.gate is not None and suite.gate.max_drop


def test_a_rerun_of_the_same_suite_passes(gate_reference: Path, tmp_path: Path) -> None:
    rerun = tmp_path / "rerun"
    assert run_cli_here("run", "gate-smoke", "--out", str(rerun)).returncode == 0
    junit = tmp_path / "gate.xml"
    proc = run_cli_here("gate", str(rerun), "--reference", str(gate_reference), *LOOSE_SPEED,
                        "--junit", str(junit))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("gate PASS: gate-smoke vs ")
    assert len(proc.stdout.splitlines()) <= 25  # one screen
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and int(suite.get("tests", "0")) > 20
    # a reference pinned as docs/GATE.md says: its suite.toml and summary.json only
    pinned = tmp_path / "pinned"
    pinned.mkdir()
    for name in ("suite.toml", "summary.json"):
        shutil.copy(gate_reference / name, pinned / name)
    assert run_cli_here("gate", str(rerun), "--reference", str(pinned), *LOOSE_SPEED).returncode == 0


def test_a_variant_made_worse_on_purpose_fails(gate_reference: Path, tmp_path: Path) -> None:
    worse = tmp_path / "worse"
    shutil.copytree(gate_reference, worse)
    text = GATE_SMOKE.read_text().replace(
        "fbcache = { threshold = [0.1, 0.2, 0.4] }",
        'fbcache = { threshold = [0.2, 0.4] }\n\n[[variant]]\nname = "fbcache-0.1"\n'
        "fbcache = { threshold = 0.3 }")
    (tmp_path / "worse.toml").write_text(text)
    proc = run_cli_here("run", str(tmp_path / "worse.toml"), "--out", str(worse))
    assert proc.returncode == 0, proc.stderr
    assert "fbcache-0.1: generating" in proc.stdout + proc.stderr  # only it ran again
    proc = run_cli_here("gate", str(worse), "--reference", str(gate_reference), *LOOSE_SPEED, "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["passed"] is False
    failed = {(c["variant"], c["check"]) for c in out["checks"] if not c["passed"]}
    assert ("fbcache-0.1", "psnr") in failed and ("fbcache-0.1", "skip rate") in failed
    assert all(v == "fbcache-0.1" for v, _ in failed)
    assert any("matched by name" in n for n in out["notes"])


def _bad(*args: str) -> str:
    proc = run_cli_here("gate", *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    return proc.stderr


def test_bad_input_is_one_line_and_exit_2(gate_reference: Path, smoke_run: Path, tmp_path: Path) -> None:
    ref = str(gate_reference)
    assert "another protocol" in _bad(str(smoke_run), "--reference", ref)
    no_summary = tmp_path / "no-summary"
    shutil.copytree(gate_reference, no_summary, ignore=shutil.ignore_patterns("images", "report"))
    (no_summary / "summary.json").unlink()
    assert "no summary.json" in _bad(str(no_summary), "--reference", ref)
    assert "not a run folder" in _bad(str(tmp_path), "--reference", ref)
    assert "not a metric" in _bad(ref, "--reference", ref, "--max-drop", "lpips=1")
    assert "no folder" in _bad(ref, "--reference", ref, "--junit", str(tmp_path / "nope" / "x.xml"))
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize("flag", ["--max-drop=psnr", "--skip-tolerance=2"])
def test_bad_flags_exit_2(gate_reference: Path, flag: str) -> None:
    proc = run_cli_here("gate", str(gate_reference), "--reference", str(gate_reference), flag)
    assert proc.returncode == 2
