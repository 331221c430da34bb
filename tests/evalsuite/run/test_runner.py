"""The runner end to end on the tiny pipeline: outputs, resume, kill -9, failures."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

import prompts
from evalsuite.run.plan import suite_items
from evalsuite.run.runner import RunFolder, generate_items, prepare_run
from evalsuite.suite.spec import load_suite
from tests.ahead import Ahead, runs_ahead
from tests.conftest import REPO, hang_guard, run_cli_here
from tests.evalsuite.run._gated_worker import gate_env
from tests.processes import marked_env, new_marker, wait_until_gone

MINI = """
name = "mini"
[model]
id = "tiny"
steps = 8
device = "cpu"
max_sequence_length = 128
[prompts]
limit = {limit}
seeds = [0, 1]
[hardware]
gpu = "cpu-2vcpu"
{extra}
[[variant]]
name = "baseline"
[[variant]]
name = "fbc"
fbcache = {{ threshold = [0.05, 0.2] }}
"""

# No drift check or trace step (a worker each) where a test is about generation: the smoke
# run, test_frontier_run and test_distributed's launch check them.
NO_END_STEPS = "[run]\ndrift_images = 0\ntrace_images = 0\n"


def write_suite(tmp_path: Path, limit: int = 2, extra: str = "") -> Path:
    path = tmp_path / "mini.toml"
    path.write_text(MINI.format(limit=limit, extra=extra))
    return path


def sample_rows(run: Path) -> list[tuple]:
    with sqlite3.connect(run / "results.sqlite") as db:
        return db.execute("SELECT variant_id, prompt_id, seed, status, image FROM samples").fetchall()


def _rows_if_any(run: Path) -> list[tuple]:
    try:
        return sample_rows(run)
    except sqlite3.OperationalError:  # the store is not created yet
        return []


def test_smoke_run_writes_summary_report_and_real_scores(smoke_run: Path) -> None:
    summary = json.loads((smoke_run / "summary.json").read_text())
    assert (smoke_run / "report" / "index.html").is_file()
    assert (smoke_run / "manifest.json").is_file() and (smoke_run / "suite.toml").is_file()
    variants = summary["variants"]
    assert len(variants) >= 4 and all(v["status"] == "ok" for v in variants)
    for v in variants:
        assert v["latency_s"]["p50"] > 0 and v["samples"]["ok"] == v["samples"]["expected"]
        assert v["metrics"]["sharpness"]["mean"] > 0
        if not v["is_baseline"]:
            assert v["metrics"]["psnr"]["n_valid"] == v["samples"]["expected"]
            assert 0 < v["metrics"]["ssim"]["mean"] <= 1
    caches = [v for v in variants if not v["is_baseline"]]
    skipped = [v["steps"]["skipped"] for v in caches]
    psnr = [v["metrics"]["psnr"]["mean"] for v in caches]
    # Thresholds rise down the list: more steps skipped, images further from the baseline.
    assert skipped == sorted(skipped) and skipped[0] < skipped[-1]
    assert psnr == sorted(psnr, reverse=True) and psnr[0] > psnr[-1]
    manifest = json.loads((smoke_run / "manifest.json").read_text())
    assert manifest["packages"]["torch"] and manifest["config_hash"]


def test_every_png_decodes_and_matches_a_row(smoke_run: Path) -> None:
    rows = sample_rows(smoke_run)
    assert len(rows) == len({r[:3] for r in rows})
    for row in rows:
        with Image.open(smoke_run / row[4]) as im:
            im.verify()
    pngs = list((smoke_run / "images").rglob("*.png"))
    assert len(pngs) == len(rows)


def killed_mid_run(tmp: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """A run of a 4-prompt suite (``NO_END_STEPS``) killed after its fifth stored image: the
    suite and the run folder, once nothing of the run is left (a job started ahead)."""
    suite, run = write_suite(tmp, limit=4, extra=NO_END_STEPS), tmp / "run"
    # The workers hold after 5 stored images, so the kill lands mid-run however fast the
    # machine is; the gate file is never created.
    marker = new_marker()
    env = marked_env(marker, env, **gate_env(tmp / "never-opened", hold_after=5))
    proc = subprocess.Popen([sys.executable, "-m", "tests.evalsuite.run._gated_worker", "run", str(suite),
                             "--out", str(run)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + hang_guard()
    while len(_rows_if_any(run)) < 5:
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before holding"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # the runner only: its worker must notice and stop
    proc.wait()
    wait_until_gone(marker)  # the rerun must not race a worker still writing
    return suite, run


@runs_ahead(killed_mid_run)
def test_kill_9_then_rerun_completes_without_duplicates_and_changed_settings_get_a_new_identity(
        ahead: Ahead) -> None:
    suite, run = ahead(killed_mid_run)
    assert len(sample_rows(run)) == 5
    done = run_cli_here("run", str(suite), "--out", str(run))
    assert done.returncode == 0, done.stderr
    rows = sample_rows(run)
    assert len(rows) == 3 * 4 * 2 and len({r[:3] for r in rows}) == len(rows)
    assert all(r[3] == "ok" for r in rows)
    for r in rows:
        with Image.open(run / r[4]) as im:
            im.load()
    assert not list((run / "images").rglob(".*.tmp*"))
    # A rerun of the finished run generates nothing; a changed setting is a new variant identity,
    # and only that variant is generated (one run serves both checks: no images made twice).
    again = run_cli_here("run", str(suite), "--out", str(run))
    assert again.returncode == 0 and "complete, skipped" in again.stderr
    assert sample_rows(run) == rows
    suite.write_text(suite.read_text().replace("0.2]", "0.3]"))
    assert run_cli_here("run", str(suite), "--out", str(run)).returncode == 0
    assert len(sample_rows(run)) == len(rows) + 4 * 2
    summary = json.loads((run / "summary.json").read_text())
    assert [v["name"] for v in summary["variants"]] == ["baseline", "fbc-0.05", "fbc-0.3"]


def test_failed_variants_are_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, extra="[run]\ntimeout_s = 0.01\n")
    run = tmp_path / "run"
    proc = run_cli_here("run", str(suite), "--out", str(run))
    assert proc.returncode == 3, proc.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert [v["status"] for v in summary["variants"]] == ["failed"] * 3
    assert all("timed out" in v["error"] for v in summary["variants"])
    assert "Traceback" not in proc.stderr


def test_generate_items_fills_a_subset_and_resumes(tmp_path: Path) -> None:
    path = write_suite(tmp_path, limit=4)  # seed 2: images no other test makes
    path.write_text(path.read_text().replace("seeds = [0, 1]", "seeds = [2]"))
    suite, run = load_suite(str(path)), tmp_path / "run"
    selected = prompts.resolve_prompts(suite.prompts)
    items = suite_items(selected, suite.prompts.seeds)
    starts = []

    class Progress:
        def __call__(self, message: str) -> None:
            pass

        def start(self, description: str, total: int, already_done: int = 0) -> None:
            starts.append([description, total])

        def update(self, completed: int) -> None:
            pass

    with RunFolder(run) as folder:
        prepare_run(suite, folder, selected)
        probe = suite.variants[1]
        first = generate_items(folder, suite, [probe], items[:1], progress=Progress())
        second = generate_items(folder, suite, [probe], items[:3], progress=Progress())
        third = generate_items(folder, suite, [probe], items[:3], progress=Progress())
        out = {"failed": first + second + third, "starts": starts,
               "done": len(folder.open_store().done_keys(probe.id))}
    # One item, then only the two missing ones; the third call finds nothing to do.
    assert out == {"failed": [], "starts": [["fbc-0.05", 1], ["fbc-0.05", 2]], "done": 3}
