"""The CLI as a user meets it: exit codes, one-line errors, list, recommend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

GOOD = """
name = "bad"
[model]
id = "tiny"
[[variant]]
name = "baseline"
[[variant]]
name = "fbc"
fbcache = { threshold = 0.1 }
"""

MALFORMED = {
    "bad-toml": "name = [oops\n",
    "unknown-key": GOOD + "\n[model2]\nx = 1\n",
    "negative-threshold": GOOD.replace("0.1", "-0.1"),
    "missing-prompt-file": GOOD + '\n[prompts]\nsets = ["smoke"]\npaths = { smoke = "nowhere.csv" }\n',
    "duplicate-names": GOOD.replace('name = "fbc"', 'name = "baseline"'),
    "unknown-metric": GOOD + '\n[metrics]\nuse = ["imagereward9000"]\n',
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_suites_exit_2_with_one_line_and_no_run_folder(tmp_path: Path, case: str) -> None:
    suite = tmp_path / f"{case}.toml"
    suite.write_text(MALFORMED[case])
    out = tmp_path / "run"
    proc = run_cli("run", str(suite), "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(suite) in lines[0]
    assert "Traceback" not in proc.stderr and not out.exists()


def test_an_old_accelerator_spelling_warns_in_one_line(tmp_path: Path) -> None:
    suite = tmp_path / "old.toml"  # the duplicate variant name stops the run before any work
    suite.write_text(GOOD + '[[variant]]\nname = "q"\nfuse-qkv = true\n[[variant]]\nname = "q"\n')
    proc = run_cli("run", str(suite), "--out", str(tmp_path / "run"))
    warning, error = proc.stderr.strip().splitlines()
    assert warning == (f"warning: {suite}: variant.q.fuse-qkv: accelerator name 'fuse-qkv' is "
                       "deprecated; write 'fuse_qkv' (same settings)")
    assert error.startswith("error: ") and proc.returncode == 2


def test_list_commands() -> None:
    for what, expected in (("suites", "flux-dev-fbcache"), ("metrics", "psnr"),
                           ("accelerators", "threshold"), ("prompt-sets", "video_smoke      video")):
        proc = run_cli("list", what)
        assert proc.returncode == 0 and expected in proc.stdout


def test_recommend_json_picks_the_fastest_within_budget(smoke_run: Path) -> None:
    proc = run_cli("recommend", str(smoke_run), "--metric", "ssim", "--max-drop", "0.00002", "--json")
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)
    summary = json.loads((smoke_run / "summary.json").read_text())
    # A variant qualifies within the budget and with a speedup that is not noise: on a loaded
    # machine a cache's speedup can be indistinguishable from 1x, and recommend then says so.
    within = [v for v in summary["variants"] if v["status"] == "ok"
              and (v["is_baseline"] or (1.0 - v["metrics"]["ssim"]["mean"] <= 0.00002
                                        and v["speedup"]["verdict"] == "faster"))]
    fastest = min(within, key=lambda v: v["latency_s"]["p50"])
    assert rec["variant"] == fastest["name"]
    faster = {v["name"] for v in summary["variants"]
              if v["latency_s"]["p50"] < fastest["latency_s"]["p50"]}
    assert {r["variant"] for r in rec["rejected"]} == faster


def test_recommend_bad_budgets_exit_2(smoke_run: Path) -> None:
    for args in (["--metric", "psnr", "--max-drop", "1"], ["--metric", "nope", "--max-drop", "1"],
                 ["--metric", "ssim", "--max-rise", "0.1"]):
        proc = run_cli("recommend", str(smoke_run), *args)
        assert proc.returncode == 2 and proc.stderr.startswith("error: "), proc.stderr
    proc = run_cli("recommend", str(smoke_run), "--metric", "psnr", "--min", "30", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["variant"]


def test_report_rerenders_and_bad_run_dir_is_exit_2(smoke_run: Path, tmp_path: Path) -> None:
    (smoke_run / "report" / "index.html").unlink()
    assert run_cli("report", str(smoke_run)).returncode == 0
    assert (smoke_run / "report" / "index.html").is_file()
    proc = run_cli("report", str(tmp_path))
    assert proc.returncode == 2 and "not a run folder" in proc.stderr
