"""torchrun end to end on CPU (gloo), two ranks on the tiny pipeline.

Starting torchrun and two ranks (each importing torch and diffusers in its runner and its
forkserver) costs most of a test's time on two cores, so one launch sequence serves every
test here: a launch killed mid-run (one rank's worker, SIGKILL), then the rerun that
completes it. The checks of a finished launch (merged store, context parallelism, drift,
traces) are made on that resumed run, against a single-process run that was never
interrupted: resuming must give the same images, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from PIL import Image

import prompts
from evalsuite.run.plan import make_plan, suite_items
from evalsuite.suite.spec import load_suite
from tests.ahead import Ahead, runs_ahead_of
from tests.conftest import REPO, hang_guard, run_cli_here
from tests.evalsuite.run._gated_worker import gate_env
from tests.processes import marked_env, marked_pids, new_marker, wait_until_gone

SUITE = """
name = "dist"
[model]
id = "tiny"
steps = {steps}
device = "cpu"
max_sequence_length = 128
[prompts]
limit = {limit}
seeds = [0, 1]
[hardware]
gpu = "cpu-2vcpu"
[[variant]]
name = "baseline"
[[variant]]
name = "fbc"
fbcache = {{ threshold = 0.2 }}
"""
CP_VARIANT = '[[variant]]\nname = "cp2"\ncontext_parallel = { ulysses = 2 }\n'
# Every rank gets this process's OpenMP setting (one thread, from conftest), as does the
# single-process reference run in this process: the same threads give the same PNG bytes.
ENV_ONLY = {"PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": os.environ["OMP_NUM_THREADS"]}


def torchrun_cmd(suite: Path, out: Path, module: str = "evalsuite") -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
            "-m", module, "run", str(suite), "--out", str(out)]


def torchrun(suite: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(torchrun_cmd(suite, out), cwd=REPO, capture_output=True, text=True,
                          timeout=hang_guard(), env=env)


def rows(run: Path) -> dict[tuple[str, str, int], tuple[str, str]]:
    """(variant id, prompt, seed) -> (status, sha256 of the PNG)."""
    with sqlite3.connect(run / "results.sqlite") as db:
        found = db.execute("SELECT variant_id, prompt_id, seed, status, image FROM samples").fetchall()
    return {r[:3]: (r[3], hashlib.sha256((run / r[4]).read_bytes()).hexdigest()) for r in found}


def _stored(shard: Path) -> int:
    """Samples in a rank's shard so far (0 before it exists)."""
    try:
        with sqlite3.connect(shard) as db:
            return db.execute("SELECT count(*) FROM samples").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def scores(run: Path) -> dict[tuple, float]:
    with sqlite3.connect(run / "results.sqlite") as db:
        return {r[:4]: r[4] for r in db.execute(
            "SELECT variant_id, prompt_id, seed, metric, value FROM scores")}


class DistRun(NamedTuple):
    two: Path  # the 2-rank run, killed once and rerun to the end
    one: Path  # the same suite without the context-parallel variant, one process, uninterrupted
    partial: frozenset[tuple[str, str, int]]  # (variant id, prompt, seed) the killed launch stored
    rerun_stderr: str


def _launch_and_kill(suite: Path, run: Path, tmp: Path,
                     base: dict[str, str]) -> frozenset[tuple[str, str, int]]:
    """Launch ``suite`` under torchrun and SIGKILL rank 1's runner mid-run; return the samples
    the launch's shards hold when everything of it is gone."""
    # Rank 1's workers hold after one stored image (the gate is never opened), so rank 1 is
    # always killed mid-run, however fast the machine. Rank 0's hold before their first: the
    # rerun then times both of rank 0's baseline images, as its drift check needs
    # (evalsuite/run/drift.py), whichever rank was faster.
    marker = new_marker()
    env = marked_env(marker, base, **ENV_ONLY, **gate_env(tmp / "never-opened", hold_after=1, rank=1,
                                                    per_rank={0: 0}))
    launch = subprocess.Popen(torchrun_cmd(suite, run, module="tests.evalsuite.run._gated_worker"),
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shard, deadline = run / "shards" / "rank-1.sqlite", time.monotonic() + hang_guard()
    while not _stored(shard):
        assert launch.poll() is None and time.monotonic() < deadline, "the launch ended before holding"
        time.sleep(0.05)
    (pid,) = marked_pids(marker, RANK="1", cmd="_gated_worker\0run")
    assert launch.poll() is None, "the launch ended before holding"
    os.kill(pid, signal.SIGKILL)
    assert launch.wait(timeout=hang_guard()) != 0  # torchrun stops the other rank and fails
    wait_until_gone(marker)  # no worker of the killed launch may write beside the rerun
    stored: set[tuple[str, str, int]] = set()
    for path in (run / "shards").glob("rank-*.sqlite"):
        with sqlite3.connect(path) as db:
            stored |= set(db.execute("SELECT variant_id, prompt_id, seed FROM samples"))
    return frozenset(stored)


@runs_ahead_of("dist_run")
def killed_and_rerun(tmp: Path, env: dict[str, str]) -> tuple[Path, frozenset[tuple[str, str, int]], str]:
    """The 2-rank launch with a context-parallel variant, killed mid-run and rerun to the
    end (a job started ahead): its run folder, what the killed launch stored, and what the
    rerun printed on stderr."""
    (tmp / "two.toml").write_text(SUITE.format(steps=4, limit=2) + CP_VARIANT)
    partial = _launch_and_kill(tmp / "two.toml", tmp / "two", tmp, env)
    proc = torchrun(tmp / "two.toml", tmp / "two", {**env, **ENV_ONLY})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp / "two", partial, proc.stderr


@pytest.fixture(scope="module")
def dist_run(tmp_path_factory: pytest.TempPathFactory, ahead: Ahead) -> DistRun:
    """:func:`killed_and_rerun`, and a 1-process run without the context-parallel variant."""
    tmp = tmp_path_factory.mktemp("dist")
    (tmp / "one.toml").write_text(SUITE.format(steps=4, limit=2))
    single = run_cli_here("run", str(tmp / "one.toml"), "--out", str(tmp / "one"))
    assert single.returncode == 0, single.stderr[-3000:]
    two, partial, stderr = ahead(killed_and_rerun)
    return DistRun(two, tmp / "one", partial, stderr)


def test_merged_store_equals_single_process_run(dist_run: DistRun) -> None:
    two, one = dist_run.two, dist_run.one
    merged, single = rows(two), rows(one)
    assert len(single) == 2 * 2 * 2
    assert {k: v for k, v in merged.items() if k in single} == single  # same ids, same PNG bytes
    assert len(merged) == len(single) + 4 and all(s == "ok" for s, _ in merged.values())
    assert not list((two / "shards").glob("*"))  # every shard merged, then removed
    single_scores = scores(one)
    merged_scores = scores(two)
    assert single_scores and all(merged_scores[k] == pytest.approx(v) for k, v in single_scores.items())


def test_context_parallel_image_matches_one_rank(dist_run: DistRun) -> None:
    two = dist_run.two
    summary = json.loads((two / "summary.json").read_text())
    by_name = {v["name"]: v for v in summary["variants"]}
    with sqlite3.connect(two / "results.sqlite") as db:
        images = {(r[0], r[1], r[2]): r[3] for r in db.execute(
            "SELECT v.name, s.prompt_id, s.seed, s.image FROM samples s "
            "JOIN variants v ON v.id = s.variant_id")}
    cp_images = {k[1:]: v for k, v in images.items() if k[0] == "cp2"}
    assert len(cp_images) == 4
    for key, path in cp_images.items():
        a = np.asarray(Image.open(two / path), dtype=np.int16)
        b = np.asarray(Image.open(two / images[("baseline", *key)]), dtype=np.int16)
        assert np.abs(a - b).max() <= 2  # float32 all-to-all vs local attention: rounding only
    assert by_name["cp2"]["status"] == "ok" and by_name["cp2"]["gpus_per_image"] == 2
    assert by_name["baseline"]["gpus_per_image"] == 1
    cp, price = by_name["cp2"], summary["pricing"]["usd_per_hour"]
    assert cp["cost_per_image_usd"] == pytest.approx(cp["latency_s"]["mean"] * 2 * price / 3600)
    assert cp["metrics"]["psnr"]["n_valid"] == 4


def test_rank_0_drift_checks_its_own_images_then_traces(dist_run: DistRun) -> None:
    two = dist_run.two
    suite = load_suite(str(two / "suite.toml"))
    base = suite.variants[0]
    items = suite_items(prompts.resolve_prompts(suite.prompts), suite.prompts.seeds)
    done = {base.id: {(p, sd) for v, p, sd in dist_run.partial if v == base.id}}
    rank0 = make_plan(suite.variants, items, done, {}, 2).keys_for(base.id, 0)  # the rerun's split
    with sqlite3.connect(two / "drift.sqlite") as db:
        retimed = db.execute("SELECT variant_id, prompt_id, seed, status, latency_s FROM samples").fetchall()
    assert {(v, s, lat > 0) for v, _, _, s, lat in retimed} == {(base.id, "ok", True)}
    assert {(p, sd) for _, p, sd, _, _ in retimed} == rank0 and len(rank0) == 2  # never rank 1's
    summary = json.loads((two / "summary.json").read_text())
    assert summary["drift"]["n"] == 2 and summary["drift"]["ratio"] > 0 and summary["drift"]["ci"]
    traces = next((two / "traces").glob("baseline-*.jsonl")).read_text().splitlines()
    assert len(traces) == 4  # the baseline's first [run] trace_images (4 with a cache in the suite)
    timings = json.loads((two / "timings.json").read_text())
    assert timings["drift_s"] > 0 and timings["traces_s"] > 0


def test_killing_one_rank_then_rerunning_completes_without_duplicates(dist_run: DistRun) -> None:
    run, total = dist_run.two, 3 * 2 * 2  # variants x prompts x seeds
    assert len(dist_run.partial) == 1  # rank 1's first image; rank 0 held before its first
    assert "recovered" in dist_run.rerun_stderr
    final = rows(run)
    assert len(final) == total and all(s == "ok" for s, _ in final.values())
    with sqlite3.connect(run / "results.sqlite") as db:
        assert db.execute("SELECT count(*) FROM samples").fetchone()[0] == len(final)  # no duplicates
    for path in (run / "images").rglob("*.png"):
        with Image.open(path) as im:
            im.load()
    assert len(list((run / "images").rglob("*.png"))) == len(final)
    assert not list((run / "images").rglob(".*.tmp*")) and not list((run / "shards").glob("*"))
    assert run_cli_here("report", str(run)).returncode == 0
