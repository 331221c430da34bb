"""The store on its own: schema, statuses, strict updates, read-only opening, shard merge."""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from evalsuite.store.db import SampleRow, Store
from evalsuite.store.paths import shard_path
from evalsuite.store.schema import SAMPLES, SCHEMA_VERSION, SampleStatus, VariantStatus
from evalsuite.store.shards import merge_shards
from tests.conftest import REPO, hang_guard


def fresh(tmp_path: Path) -> Store:
    store = Store(tmp_path / "results.sqlite")
    store.put_prompts([("p", "a red apple", "smoke", 0, "food", {"k": 1})])
    store.put_variant("v", "baseline", {})
    return store


def test_samples_round_trip_and_only_ok_or_flagged_count_as_done(tmp_path: Path) -> None:
    store = fresh(tmp_path)
    store.put_sample(SampleRow("v", "p", 0, SampleStatus.OK, 1.5, image="a.png"))
    store.put_sample(SampleRow("v", "p", 1, SampleStatus.FLAGGED, 1.0, reason="all-black image"))
    store.put_sample(SampleRow("v", "p", 2, SampleStatus.FAILED, reason="boom"))
    assert store.done_keys("v") == {("p", 0), ("p", 1)}
    rows = {r.seed: r for r in store.samples(["v"])}
    assert rows[0].text == "a red apple" and rows[0].latency_s == 1.5
    assert rows[2].status == SampleStatus.FAILED and rows[2].reason == "boom"
    with pytest.raises(ValueError):
        store.put_sample(SampleRow("v", "p", 3, "done"))  # type: ignore[arg-type]


def test_variant_status_records_timings_and_rejects_unknown_keys(tmp_path: Path) -> None:
    store = fresh(tmp_path)
    assert store.variant("v").status is VariantStatus.PENDING  # read back as the enum
    store.set_variant_status("v", VariantStatus.RUNNING, None, worker_start_s=0.5)
    store.set_variant_status("v", VariantStatus.OK, None, load_s=2.0, cold_s=None, checks="[]")
    row = store.variant("v")
    assert (row.status, row.worker_start_s, row.load_s, row.cold_s) == ("ok", 0.5, 2.0, None)
    with pytest.raises(TypeError, match="load_seconds"):
        store.set_variant_status("v", VariantStatus.OK, None, load_seconds=1.0)
    with pytest.raises(ValueError):
        store.set_variant_status("v", "done")  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        store.variant("nope")


def test_nan_scores_carry_a_reason(tmp_path: Path) -> None:
    store = fresh(tmp_path)
    store.put_scores("psnr", "{}", [("v", "p", 0, math.nan, None), ("v", "p", 1, 30.0, None)])
    by_seed = {r.seed: r for r in store.scores()}
    assert by_seed[0].value is None and by_seed[0].reason == "scorer returned NaN"
    assert store.scored_keys("psnr", "{}") == {("v", "p", 0), ("v", "p", 1)}
    assert store.scored_keys("psnr", '{"other": 1}') == set()


def test_read_only_store_reads_and_leaves_no_files(tmp_path: Path) -> None:
    store = fresh(tmp_path)
    store.put_sample(SampleRow("v", "p", 0, SampleStatus.OK, 1.0))
    store.close()  # checkpoints the WAL
    before = sorted(p.name for p in tmp_path.iterdir())
    with Store.open_read_only(tmp_path / "results.sqlite") as ro:
        assert ro.done_keys("v") == {("p", 0)}
        with pytest.raises(sqlite3.OperationalError):
            ro.put_variant("w", "w", {})
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_read_only_store_sees_rows_a_killed_writer_left_in_the_wal(tmp_path: Path) -> None:
    # A child writes and is killed -9: its rows (and the schema itself) live only in the WAL.
    code = ("import os, signal, sys; from pathlib import Path; from evalsuite.store.db import Store, "
            "SampleRow; s = Store(Path(sys.argv[1])); s.put_prompts([('p', 't', 'smoke', 0, 'c', {})]); "
            "s.put_variant('v', 'b', {}); s.put_sample(SampleRow('v', 'p', 0, 'ok', 1.0)); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    db = tmp_path / "results.sqlite"
    subprocess.run([sys.executable, "-c", code, str(db)], cwd=REPO, timeout=hang_guard())
    assert (tmp_path / "results.sqlite-wal").stat().st_size > 0
    with Store.open_read_only(db) as ro:
        assert ro.done_keys("v") == {("p", 0)}


def test_a_store_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    fresh(tmp_path).close()
    with sqlite3.connect(tmp_path / "results.sqlite") as db:
        db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(RuntimeError, match="store schema"):
        Store(tmp_path / "results.sqlite")


def test_shards_merge_by_column_name_whatever_the_column_order(tmp_path: Path) -> None:
    main = fresh(tmp_path)
    (tmp_path / "shards").mkdir()
    # A shard whose samples table lists the same columns in another order: a positional
    # SELECT * would put latencies into the status column.
    with sqlite3.connect(shard_path(tmp_path, 0)) as db:
        cols = list(reversed(SAMPLES.columns))
        db.execute(f"CREATE TABLE samples ({', '.join(f'{c} {t}' for c, t in cols)})")
        db.execute("CREATE TABLE scores (variant_id, prompt_id, seed, metric, value, reason, identity)")
        db.execute("CREATE TABLE set_scores (variant_id, metric, value, reason, n, identity)")
        db.execute("CREATE TABLE variants (id, name, spec, status, error, worker_start_s, load_s, "
                   "cold_s, checks, updated)")
        row = {"variant_id": "v", "prompt_id": "p", "seed": 4, "status": "ok", "latency_s": 2.5,
               "image": "x.png", "created": 1.0}
        names = [c for c, _ in cols if c in row]
        db.execute(f"INSERT INTO samples ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                   [row[c] for c in names])
    merged = merge_shards(tmp_path, main)
    assert merged.samples == 1 and not shard_path(tmp_path, 0).exists()
    (got,) = main.samples(["v"])
    assert (got.seed, got.status, got.latency_s, got.image) == (4, "ok", 2.5, "x.png")
