"""End to end on the tiny model: per-variant overrides, the fewer-steps frontier and its
verdict, baseline traces with predicted vs measured skip rates, calibration, the report."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import run_cli_here

SUITE = """
name = "frontier"
[model]
id = "tiny"
steps = 6
device = "cpu"
max_sequence_length = 128
[prompts]
limit = 2
seeds = [0]
[hardware]
gpu = "cpu-2vcpu"
[run]
warmup = 0
drift_images = 0
[metrics]
use = ["sharpness", "ssim"]
[report]
steps_frontier = [3]
[[variant]]
name = "baseline"
[[variant]]
name = "fbc"
fbcache = { threshold = 0.2 }
[[variant]]
name = "small"
height = 32
width = 48
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("frontier")
    (folder / "frontier.toml").write_text(SUITE)
    proc = run_cli_here("run", str(folder / "frontier.toml"), "--out", str(folder / "run"))
    assert proc.returncode == 0, proc.stderr
    return folder / "run"


def test_overrides_generate_and_pair_at_the_baseline_size(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    by = {v["name"]: v for v in summary["variants"]}
    assert by["baseline~steps-3"]["steps"]["computed"] == 2 * 3  # 2 images x 3 steps
    small = by["small"]
    assert small["metrics"]["ssim"]["n_valid"] == 2  # scored against the 64x64 baseline
    assert "pair_resize" in summary["metrics"]["ssim"]["identity"]
    with sqlite3.connect(run / "results.sqlite") as db:
        images = [r[0] for r in db.execute("SELECT image FROM samples WHERE image LIKE 'images/small-%'")]
    assert len(images) == 2 and all(Image.open(run / p).size == (48, 32) for p in images)


def test_frontier_verdict_is_computed_and_shown(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    fr = summary["steps_frontier"]
    assert [(p["variant"], p["steps"]) for p in fr["points"]] == [("baseline", 6), ("baseline~steps-3", 3)]
    fbc = next(v for v in summary["variants"] if v["name"] == "fbc")
    verdict = fbc["vs_fewer_steps"]
    assert verdict == fr["verdicts"][0] and verdict["partner"] in ("baseline", "baseline~steps-3")
    assert verdict["verdict"] in ("better", "no better", "worse") or verdict["reason"]
    assert verdict["metrics"]["ssim"]["n_pairs"] == 2 and verdict["metrics"]["ssim"]["ci"] is not None
    html = (run / "report" / "index.html").read_text()
    assert "Better than fewer steps?" in html and "fewer steps (reference)" in html


def test_baseline_traces_predictions_and_calibration(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    traces = list((run / "traces").glob("baseline-*.jsonl"))
    assert len(traces) == 1 and len(traces[0].read_text().splitlines()) == 2
    fbc = next(v for v in summary["variants"] if v["name"] == "fbc")
    tp = fbc["trace_prediction"]
    assert tp["n_images"] == 2 and tp["n_measured"] == 2
    assert 0 <= tp["predicted_skip_rate"] <= 1 and tp["measured_skip_rate"] == fbc["steps"]["skip_rate"]
    cal = summary["calibration"]
    assert len(cal["magcache_ratios"]) == 6 and cal["snippets"]["magcache"].startswith("magcache = {")
    assert cal["teacache"]["n_points"] == 2 * 5 and "coefficients = [" in cal["snippets"]["teacache"]
    assert cal["n_images"] == 2 and cal["errors"] == {}
    assert "Cache traces and calibration" in (run / "report" / "index.html").read_text()


def test_rerun_neither_regenerates_nor_traces_again(run: Path) -> None:
    before = (run / "results.sqlite").stat().st_mtime, next((run / "traces").glob("*.jsonl")).read_text()
    proc = run_cli_here("run", str(run.parent / "frontier.toml"), "--out", str(run))
    assert proc.returncode == 0, proc.stderr
    assert "generating" not in proc.stdout + proc.stderr
    assert next((run / "traces").glob("*.jsonl")).read_text() == before[1]
