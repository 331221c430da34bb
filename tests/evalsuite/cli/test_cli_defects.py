"""Defects found by using the CLI as a new user would (issue 12, section 6: 3 to 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalsuite.cli.main import COMMANDS, main
from tests.conftest import REPO, hang_guard, run_cli


def test_a_closed_pipe_ends_quietly() -> None:
    # `evalsuite list accelerators | head -1`, made deterministic: the reader is gone before
    # the first write.
    read, write = os.pipe()
    os.close(read)
    proc = subprocess.Popen([sys.executable, "-m", "evalsuite", "list", "accelerators"], cwd=REPO,
                            stdout=write, stderr=subprocess.PIPE, text=True)
    os.close(write)
    _, err = proc.communicate(timeout=hang_guard())
    assert (proc.returncode, err) == (0, "")


def test_recommend_without_flags_uses_the_suites_budgets(smoke_run: Path) -> None:
    proc = run_cli("recommend", str(smoke_run), "--json")
    assert proc.returncode in (0, 3), proc.stderr
    rec = json.loads(proc.stdout)
    stated = json.loads((smoke_run / "summary.json").read_text())["recommendation"]
    assert rec["budgets"] == stated["budgets"] and len(rec["budgets"]) == 2  # psnr min, ssim drop
    assert rec["variant"] == stated["variant"]


def test_help_shows_no_rest_markup(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], *([name, "--help"] for name in COMMANDS)):
        with pytest.raises(SystemExit):
            main(argv)
        text = capsys.readouterr().out
        assert "usage: evalsuite" in text and "``" not in text, argv


def test_a_missing_run_folder_gets_one_message_from_every_command(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-run"
    errors = set()
    for command in ("recommend", "report", "score", "export"):
        proc = run_cli(command, str(missing))
        assert proc.returncode == 2, (command, proc.stderr)
        errors.add(proc.stderr)
    assert errors == {f"error: {missing}: not a run folder (it has no suite.toml and "
                      "results.sqlite; `evalsuite run` makes one)\n"}


def test_score_with_nothing_to_score_says_so(smoke_run: Path) -> None:
    proc = run_cli("score", str(smoke_run))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ("nothing to score: every image already has a score for sharpness, "
                           "psnr, ssim (add metrics with --metric)\n")
