"""`evalsuite tune` end to end on the tiny model: agreement with an exhaustive grid, the
infeasible exit, resume after kill -9, and a holdout failure.

One grid is generated for the module (every value on every search prompt) and the tunes
of the agreement tests run in the grid's folder: a probe is the same variant (same id) as
the grid's point, so the tune regenerates nothing there, and its answer depends only on the
stored scores. What it *needed* is counted apart (``images_generated``), and the kill -9
test checks, in a fresh folder, that this count is what a tune really generates.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomli_w

import prompts
from evalsuite.progress import Reporter
from evalsuite.run.speed_trial import TRIAL_RECORD, TRIAL_STORE, SpeedTrial, schedule
from evalsuite.suite.spec import BUILTIN_DIR, load_suite
from evalsuite.tune.grid import GridResult, run_grid
from evalsuite.tune.tuner import prompt_split, run_tune
from reports.speedup import no_credible_gain, speedup_entry
from tests.ahead import Ahead, runs_ahead
from tests.conftest import REPO, run_cli_here
from tests.evalsuite.run._gated_worker import gate_env
from tests.processes import marked_env, new_marker, wait_until_gone

pytestmark = pytest.mark.slow

BUDGETS = (59.0, 55.0, 52.0)  # PSNR minima with answers low, middle and high in the range
HANG_GUARD_S = 3600  # generous: a hang, not a slow machine, must fail these tests


def write_suite(folder: Path, psnr_min: float, **tune: object) -> Path:
    """The tests' suite: tune-smoke's model and prompts, smaller looks, one PSNR budget."""
    table = {"accelerator": "fbcache", "parameter": "threshold", "range": [0.0, 0.4], "step": 0.05,
             "first_prompts": 4, "max_prompts": 12, "holdout": 4, "fewer_steps": False,
             "budget": [{"metric": "psnr", "min": psnr_min}], **tune}
    suite = {
        "name": "tune-test", "baseline": "baseline",
        "model": {"id": "tiny", "steps": 8, "height": 32, "width": 32, "device": "cpu",
                  "max_sequence_length": 128},
        "prompts": {"seeds": [0], "file": [{"name": "tune-smoke",
                                            "path": str(BUILTIN_DIR / "tune-smoke-prompts.txt")}]},
        "hardware": {"gpu": "cpu-2vcpu"}, "run": {"warmup": 0}, "metrics": {"use": ["psnr"]},
        "variant": [{"name": "baseline"}], "tune": table,
    }
    path = folder / f"tune-{psnr_min:g}-{len(tune)}.toml"
    path.write_text(tomli_w.dumps(suite))
    return path


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GridResult]:
    folder = tmp_path_factory.mktemp("tune-grid")
    suite = load_suite(str(write_suite(folder, BUDGETS[0])))
    return folder, run_grid(suite, folder / "run", Reporter())


def _grid_answer(grid_dir: Path, psnr_min: float) -> int | None:
    """The grid's answer for another budget: the same stored scores, judged again."""
    suite = load_suite(str(write_suite(grid_dir, psnr_min)))
    return run_grid(suite, grid_dir / "run", Reporter()).answer


@pytest.mark.parametrize("psnr_min", BUDGETS)
def test_tune_agrees_with_the_grid_on_a_fraction_of_its_images(grid, psnr_min: float) -> None:
    folder, _ = grid
    expected = _grid_answer(folder, psnr_min)
    suite = load_suite(str(write_suite(folder, psnr_min)))
    result = run_tune(suite, folder / "run", Reporter())
    assert expected is not None and result.winner is not None
    assert abs(result.winner.index - expected) <= 1, (result.winner.value, expected)
    # At this small size (12 search prompts, holdout 4) the holdout and baseline cost a fixed
    # share; a t interval over 4 prompts rarely decides, so probes grow to 8 and 12 prompts.
    assert result.images_generated <= 0.5 * result.grid_images
    assert result.grid_images == (9 + 1) * 12
    out = json.loads((folder / "run" / "tune.json").read_text())
    assert out["setting"]["value"] == result.winner.value and out["probes"]
    assert out["metrics"]["psnr"]["ci_bound"] is not None


def test_infeasible_budget_exits_3_with_the_closest_probe(grid) -> None:
    folder, _ = grid
    path = write_suite(folder, 70.0, range=[0.1, 0.4])  # every value here skips steps
    done = run_cli_here("tune", str(path), "--out", str(folder / "run"), "--json")
    assert done.returncode == 3, done.stderr
    out = json.loads(done.stdout)
    assert out["setting"] is None and out["certified"] is False
    assert out["closest"]["variant"].startswith("fbcache-") and out["closest"]["margin"] < 0
    assert "psnr" in out["closest"]["budget"]


def _stored_variants(db: Path) -> int:
    """Variants with a stored sample so far (0 while the tune has not created its store yet)."""
    try:
        return len({k[0] for k in _rows(db)}) if db.exists() else 0
    except sqlite3.OperationalError:  # the file exists, its schema not yet
        return 0


def _rows(db: Path) -> dict[tuple[str, str, int], float]:
    with sqlite3.connect(db) as con:
        return {(v, p, s): c for v, p, s, c in con.execute(
            "SELECT variant_id, prompt_id, seed, created FROM samples WHERE status='ok'")}


def killed_mid_tune(tmp: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """A tune at the middle budget killed once its baseline and one probe have stored images:
    the suite and the run folder, once nothing of it is left (a job started ahead)."""
    path, out = write_suite(tmp, BUDGETS[1]), tmp / "run"
    # The probes' workers hold after their first stored image (the gate is never opened), so
    # the kill always lands after the baseline and one probe have stored images, mid-tune.
    marker = new_marker()
    env = marked_env(marker, env, **gate_env(tmp / "never-opened", hold_after=1, spare=("baseline",)))
    proc = subprocess.Popen([sys.executable, "-m", "tests.evalsuite.run._gated_worker", "tune", str(path),
                             "--out", str(out)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    db = out / "results.sqlite"
    deadline = time.monotonic() + HANG_GUARD_S
    try:  # kill once the baseline and at least one probe have stored images
        while _stored_variants(db) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "the tune ended before holding"
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    wait_until_gone(marker)
    return path, out


@runs_ahead(killed_mid_tune)
def test_kill_9_then_rerun_resumes_regenerates_nothing_and_agrees(grid, ahead: Ahead) -> None:
    folder, _ = grid
    path, out = ahead(killed_mid_tune)
    db = out / "results.sqlite"
    before = _rows(db)
    assert before, "nothing was stored before the kill"
    resumed_at = time.time()
    done = run_cli_here("tune", str(path), "--out", str(out), "--json")
    assert done.returncode in (0, 3), done.stderr
    after = _rows(db)
    assert all(after[k] == created for k, created in before.items())  # not one regenerated
    result = json.loads(done.stdout)
    assert result["images_generated"] == len(after)  # what it needed is what it generated
    reference = run_tune(load_suite(str(path)), folder / "run", Reporter())  # never interrupted
    assert result["setting"]["value"] == reference.winner.value  # type: ignore[union-attr]
    # The speed verdict, interrupted or not, is the same function of a trial of its own
    # (never of the search's timings, some of which were taken before the kill).
    uninterrupted = json.loads(json.dumps(reference.to_dict()))  # as --json prints it
    for run_dir, verdict in ((out, result), (folder / "run", uninterrupted)):
        trial = _trial_verdict(run_dir, verdict)
        assert trial["order"] == "AB BA AB BA AB BA AB BA"
    assert _trial_rows(out) and all(created > resumed_at for *_, created in _trial_rows(out))
    assert result["speed_trial"]["started"] > resumed_at
    assert [p["prompt_id"] for p in result["speed_trial"]["pairs"]] == \
        [p["prompt_id"] for p in uninterrupted["speed_trial"]["pairs"]]


def _trial_rows(run_dir: Path) -> list[tuple[str, str, int, float]]:
    """The speed trial's stored timings, in the order they were taken."""
    with sqlite3.connect(run_dir / TRIAL_STORE) as con:
        return con.execute("SELECT variant_id, prompt_id, seed, created FROM samples "
                           "ORDER BY created").fetchall()


def _trial_verdict(run_dir: Path, out: dict) -> dict:
    """Check that ``out``'s speed verdict is read from its run's speed trial and nothing else;
    return the trial."""
    trial = out["speed_trial"]
    recorded = json.loads((run_dir / TRIAL_RECORD).read_text())
    assert {k: trial[k] for k in recorded} == recorded  # the verdict shows the trial on disk
    base, winner = trial["reference"], trial["candidate"]
    assert winner == next(p["variant_id"] for p in out["probes"] if p["value"] == out["setting"]["value"])
    rows = _trial_rows(run_dir)
    # taken in turns, A B | B A | ..., every pair right after its partner
    assert [r[0] for r in rows] == [(base, winner)[side] for side in schedule(trial["n_pairs"])]
    assert all(trial["started"] <= r[3] <= trial["ended"] for r in rows)
    mine, ref = SpeedTrial.from_dict(trial).times()
    entry = speedup_entry(mine, ref, is_baseline=False)
    assert out["speedup"] == entry.estimate and out["speedup_ci"] == list(entry.ci)  # type: ignore[arg-type]
    assert out["speed_check"] == no_credible_gain(entry)
    assert out["certified"] == (out["speed_check"] is None and all(h["certified"] for h in out["holdout"]))
    assert out["baseline_latency_s"] / out["latency_s"] == pytest.approx(out["speedup"])
    return trial


def test_a_holdout_failure_is_reported_as_not_certified(grid, tmp_path: Path) -> None:
    """The winner's holdout prompts are made to score badly: the search itself still passes it."""
    folder, _ = grid
    path = write_suite(folder, BUDGETS[1])
    run = tmp_path / "run"
    shutil.copytree(folder / "run", run)
    first = run_tune(load_suite(str(path)), run, Reporter())
    # The holdout's quality passes; certification also needs a credible speedup, which a
    # heavily loaded machine may blur, so it is not what this test is about.
    assert first.winner is not None and first.holdouts[0].certified
    suite = load_suite(str(path))
    _, holdout = prompt_split(prompts.resolve_prompts(suite.prompts), suite.tune, suite.source)  # type: ignore[arg-type]
    ids = [p.id for p in holdout]
    with sqlite3.connect(run / "results.sqlite") as con:  # as if those prompts were much harder
        con.execute(f"UPDATE scores SET value = 20.0 WHERE variant_id = ? AND metric = 'psnr' "
                    f"AND prompt_id IN ({','.join('?' * len(ids))})", (first.winner.variant_id, *ids))
        # ... and as if a burst of load had hit every baseline image of the search: the speed
        # verdict reads the speed trial alone, so it does not move
        con.execute("UPDATE samples SET latency_s = latency_s * 20 WHERE variant_id = ?",
                    (first.speed.trial.reference,))  # type: ignore[union-attr]
    done = run_cli_here("tune", str(path), "--out", str(run), "--json")
    assert done.returncode == 3, done.stderr
    out = json.loads(done.stdout)
    assert out["setting"]["value"] == first.winner.value
    assert out["certified"] is False and out["holdout"][0]["verdict"] == "fail"
    before = json.loads(json.dumps(first.to_dict()))
    for key in ("speedup", "speedup_ci", "speed_check", "latency_s", "baseline_latency_s", "speed_trial"):
        assert out[key] == before[key], key


def test_confirm_settings_and_the_fewer_steps_verdict_run_and_are_shown(grid, tmp_path: Path) -> None:
    folder, _ = grid
    path = write_suite(folder, BUDGETS[1], fewer_steps=True, confirm={"steps": [4]})
    run = tmp_path / "run"
    shutil.copytree(folder / "run", run)  # the search's images are there; the rest is generated
    done = run_cli_here("tune", str(path), "--out", str(run), "--json")
    assert done.returncode in (0, 3), done.stderr
    out = json.loads(done.stdout)
    assert out["setting"] is not None
    assert [h["setting"] for h in out["holdout"]] == [{}, {"steps": 4}]
    assert all(h["verdict"] in ("pass", "fail") and h["n_prompts"] == 4 for h in out["holdout"])
    vs = out["vs_fewer_steps"]
    with sqlite3.connect(run / "results.sqlite") as con:
        rows = con.execute("SELECT DISTINCT v.name, v.id FROM variants v "
                           "JOIN samples s ON s.variant_id = v.id").fetchall()
    names = [n for n, _ in rows]
    # the suite's steps and steps = 4: two ids each for the baseline and the winner
    assert names.count("baseline") == 2 and names.count(out["setting"]["variant"]) == 2, rows
    if out["holdout"][0]["skip_rate"]:  # the winner skipped steps: a fewer-steps reference ran
        assert any(n.startswith("fewer-steps") for n in names), names
        assert vs["prompts"] == "holdout"
        assert vs["verdict"] in ("better", "no better", "worse") or vs["reason"]
    else:
        assert vs["verdict"] is None and "skipped no step" in vs["reason"]
    text = run_cli_here("tune", str(path), "--out", str(run))  # resumes: nothing left to generate
    assert text.returncode == done.returncode, text.stderr
    assert "holdout (4 prompts, {'steps': 4})" in text.stdout and "vs fewer steps:" in text.stdout
