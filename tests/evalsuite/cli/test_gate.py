"""``evalsuite gate``: passes a rerun, fails a run made worse on purpose, refuses bad input.

The reference is the session's gate-smoke run; the rerun is the same suite run again into a
fresh folder; the worse run (tests/evalsuite/conftest.py) is the reference run again with
``fbcache-0.1``'s threshold raised under the same name and a broken cache added.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evalsuite.suite.spec import load_suite
from tests.ahead import Ahead, runs_ahead
from tests.conftest import run_cli_here
from tests.evalsuite.conftest import WorseRun, run_gate_smoke

# Speedups are timed on a shared machine: the rerun's must only stay within 10x of the
# reference's (the check itself is tested on fixed numbers in tests/reports/test_gate.py).
LOOSE_SPEED = ("--speedup-tolerance", "0.9")


def test_gate_smoke_suite_is_pinned_on_tiny_models_on_cpu() -> None:
    suite = load_suite("gate-smoke")
    assert suite.model.device == "cpu" and suite.model.id.startswith("tiny")
    assert suite.gate is not None and suite.gate.max_drop


def gate_smoke_rerun(tmp: Path, env: dict[str, str]) -> tuple[Path, subprocess.CompletedProcess]:
    """gate-smoke run again into a fresh folder (a job started ahead, see tests/ahead.py)."""
    return tmp / "rerun", run_gate_smoke(tmp / "rerun", env)


@runs_ahead(gate_smoke_rerun)
def test_a_rerun_of_the_same_suite_passes(gate_reference: Path, tmp_path: Path, ahead: Ahead) -> None:
    rerun, run = ahead(gate_smoke_rerun)
    assert run.returncode == 0, run.stderr
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


def test_a_run_made_worse_on_purpose_fails(worse_run: WorseRun, gate_reference: Path, tmp_path: Path) -> None:
    generated = [line for line in worse_run.output.splitlines() if ": generating" in line]
    # fbcache-0.1 (threshold raised), broken and the two served variants; the rest resumed
    assert len(generated) == 4
    junit = tmp_path / "gate.xml"
    proc = worse_run.cli("gate", str(worse_run.path), "--reference", str(gate_reference), *LOOSE_SPEED,
                         "--json", "--junit", str(junit))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["passed"] is False
    failed = {(c["variant"], c["check"]) for c in out["checks"] if not c["passed"]}
    assert {("fbcache-0.1", "psnr"), ("fbcache-0.1", "skip rate"), ("broken", "equal work"),
            ("served-broken", "equal work")} <= failed
    assert {v for v, _ in failed} == {"fbcache-0.1", "broken", "served-broken"}
    assert any(n.startswith("fbcache-0.1: matched by name") for n in out["notes"])
    assert "broken: not in the reference, not gated" in out["notes"]
    cases = ET.parse(junit).getroot().findall("testsuite/testcase")
    assert {(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None} == failed
    text = worse_run.cli("gate", str(worse_run.path), "--reference", str(gate_reference), *LOOSE_SPEED)
    assert text.returncode == 1 and text.stdout.startswith("gate FAIL: gate-smoke vs ")
    assert "FAIL broken: implementation outlier" in text.stdout


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
