"""A text-to-video run end to end (tiny Wan 2.2): clips stored twice, steps per expert, scores."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from evalsuite.run import generators
from evalsuite.store.clips import mp4_frame_count, read_clip
from tests.conftest import hang_guard, run_cli_here
from tests.evalsuite.run._gated_worker import held_by, install

real_worker_main = generators._worker_main


def _rows(run: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(run / "results.sqlite") as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT v.name, s.* FROM samples s JOIN variants v ON v.id = s.variant_id "
                          "ORDER BY v.name, s.prompt_id").fetchall()


def test_each_clip_is_stored_losslessly_as_a_playable_mp4_and_a_poster(video_run: Path) -> None:
    rows = _rows(video_run)
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)
    for r in rows:
        clip = read_clip(video_run / r["clip"])
        assert clip.frames.shape == (9, 32, 32, 3) and clip.fps == 16  # Wan's 16 fps, tiny's 9 frames
        stem = r["clip"].removesuffix(".npz")
        assert r["image"] == f"{stem}.png" and mp4_frame_count(video_run / f"{stem}.mp4") == 9
        poster = np.asarray(Image.open(video_run / r["image"]))
        assert np.array_equal(poster, clip.frames[4])  # the middle frame, losslessly
    assert not list((video_run / "images").rglob(".*.tmp*"))


def test_steps_are_counted_per_expert_and_an_idle_expert_is_flagged_inert(video_run: Path) -> None:
    by_name = {r["name"]: json.loads(r["expert_steps"]) for r in _rows(video_run)}
    assert by_name["baseline"] == {"transformer": [2, 0], "transformer_2": [4, 0]}  # CFG: 2 calls a step
    # One high-noise step (always computed) and two low-noise ones, the second served from cache.
    assert by_name["fbcache"] == {"transformer": [2, 0], "transformer_2": [2, 2]}
    summary = json.loads((video_run / "summary.json").read_text())
    fbc = next(v for v in summary["variants"] if v["name"] == "fbcache")
    assert fbc["steps"] == {"computed": 8, "skipped": 4, "skip_rate": 1 / 3}
    assert fbc["experts"]["transformer"] == {"computed": 4, "skipped": 0, "skip_rate": 0.0, "inert": True}
    assert fbc["experts"]["transformer_2"]["skipped"] == 4 and not fbc["experts"]["transformer_2"]["inert"]
    assert not fbc["inert"] and any(c.startswith("inert on transformer:") for c in fbc["checks"])


def test_a_video_metric_scores_the_clips_against_the_baseline_clip(video_run: Path) -> None:
    with sqlite3.connect(video_run / "results.sqlite") as db:
        scores = db.execute("SELECT metric, value, reason FROM scores").fetchall()
    assert len(scores) == 2 and {s[0] for s in scores} == {"psnr_video"}
    assert all(s[1] is not None and 5 < s[1] < 100 for s in scores), scores  # different, finite


def test_kill_9_mid_clip_loses_only_that_clip(video_run: Path, video_suite: Path, tmp_path: Path) -> None:
    """A worker killed between a clip's lossless copy and its MP4: the variant fails with the
    reason, the rerun regenerates exactly what has no row, and every stored clip is whole."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(video_run, run)  # the baseline and fbcache resume; a new variant generates
    suite = tmp_path / "suite.toml"
    suite.write_text(video_suite.read_text() + '[[variant]]\nname = "fbc-low"\n'
                     "fbcache = { threshold = 0.05 }\n")
    gate = tmp_path / "never-opened"
    install(gate, hold_after=1)  # this process's workers hold before their second clip's MP4

    def kill_when_held() -> None:
        deadline = time.monotonic() + hang_guard()
        while not held_by(gate).is_file() or not held_by(gate).read_text():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(int(held_by(gate).read_text()), signal.SIGKILL)

    killer = threading.Thread(target=kill_when_held)
    killer.start()
    try:
        killed = run_cli_here("run", str(suite), "--out", str(run))
    finally:
        killer.join()
        generators._worker_main = real_worker_main
    assert killed.returncode == 3 and "SIGKILL" in killed.stdout + killed.stderr
    assert len(_rows(run)) == 5  # the clip in flight has its lossless copy on disk but no row
    assert len(list(run.glob("images/fbc-low-*/*.npz"))) == 2
    done = run_cli_here("run", str(suite), "--out", str(run))
    assert done.returncode == 0, done.stderr
    rows = _rows(run)
    assert len(rows) == 6 and len({(r["variant_id"], r["prompt_id"]) for r in rows}) == 6
    for r in rows:
        assert read_clip(run / r["clip"]).frames.shape[0] == 9
        assert mp4_frame_count(run / r["clip"].replace(".npz", ".mp4")) == 9
    assert not list((run / "images").rglob(".*.tmp*"))


def test_scorers_get_each_clip_with_its_frame_rate(video_run: Path) -> None:
    # VBench's dynamic degree samples frames per second of video: it needs the clip's fps.
    from evalsuite.score.clips import load_clip, load_clip_sample, paired_clip_sample

    r = _rows(video_run)[0]
    sample = load_clip_sample(video_run, r["clip"], "a prompt")
    assert sample.fps == 16 and len(sample.frames) == 9
    paired = paired_clip_sample(sample, load_clip(video_run, r["clip"]))
    assert paired.fps == 16 and len(paired.reference_frames) == 9
