"""Defects found by using the CLI as a new user would (issue 12, section 6: 3 to 7)."""

from __future__ import annotations

import json
import os
import shutil
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


def test_a_run_ends_with_its_verdict_in_recommends_words(
        smoke_cli: tuple[Path, subprocess.CompletedProcess]) -> None:
    # Issue 18, 4.1: `run` printed where the report is, not what it found.
    run_dir, proc = smoke_cli
    rec = run_cli("recommend", str(run_dir))
    assert rec.returncode in (0, 3), rec.stderr
    assert rec.stdout.startswith("recommended: ")
    assert proc.stdout.endswith(rec.stdout), proc.stdout


def test_a_run_without_budgets_ends_with_recommends_reason(smoke_run: Path, tmp_path: Path) -> None:
    import tomllib

    import tomli_w

    from evalsuite.cli.recommend import verdict_lines
    from evalsuite.suite.spec import load_suite

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("results.sqlite", "summary.json"):
        shutil.copy(smoke_run / name, run_dir)
    suite = tomllib.loads((smoke_run / "suite.toml").read_text())
    del suite["report"]["budget"]
    (run_dir / "suite.toml").write_text(tomli_w.dumps(suite))
    rec = run_cli("recommend", str(run_dir))
    assert rec.returncode == 2 and rec.stderr.startswith("error: recommend: "), rec.stderr
    reason = rec.stderr.removeprefix("error: recommend: ").strip()
    suite_without = load_suite(str(run_dir / "suite.toml"))
    assert verdict_lines(suite_without, run_dir) == [f"recommended: none ({reason})"]


def test_the_no_budget_hint_names_one_of_the_runs_metrics() -> None:
    # A video run was told to try `--metric ssim`, a metric it never scored.
    from dataclasses import replace

    from evalsuite.cli.recommend import no_budget
    from evalsuite.suite.spec import load_suite

    suite = load_suite("smoke")
    assert "--metric ssim --max-drop 0.01" in no_budget(Path("run"), suite)
    only_psnr = replace(suite, metrics=tuple(m for m in suite.metrics if m.name == "psnr"))
    assert "--metric psnr --max-drop 0.01" in no_budget(Path("run"), only_psnr)


def test_a_metrics_notice_is_one_line_without_a_source_location() -> None:
    # FVD's few-clips caveat printed Python's "file:line: FewClipsWarning:" prefix and source line.
    import contextlib
    import io

    from evalsuite.cli.main import _show_warning
    from metrics.fvd import FewClipsWarning

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        _show_warning(FewClipsWarning("fvd from 8 clips: biased"), FewClipsWarning, "/x/fvd.py", 154)
    assert err.getvalue() == "warning: fvd from 8 clips: biased\n"
