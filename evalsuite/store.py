"""The run folder's SQLite store: prompts, variants, samples and scores.

One row per variant x prompt x seed, committed as each sample completes, so a killed run
resumes with exactly what is missing. Writers never overlap: the parent process writes
only while no worker runs, and a worker writes only its own variant's rows.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS prompts (
    id TEXT PRIMARY KEY, text TEXT NOT NULL, set_name TEXT NOT NULL, idx INTEGER NOT NULL,
    category TEXT NOT NULL, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS variants (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, spec TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', error TEXT,
    worker_start_s REAL, load_s REAL, cold_s REAL, checks TEXT, updated REAL);
CREATE TABLE IF NOT EXISTS samples (
    variant_id TEXT NOT NULL, prompt_id TEXT NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL, latency_s REAL, peak_mem_bytes INTEGER,
    steps_computed INTEGER, steps_skipped INTEGER, image TEXT, reason TEXT, created REAL,
    PRIMARY KEY (variant_id, prompt_id, seed));
CREATE TABLE IF NOT EXISTS scores (
    variant_id TEXT NOT NULL, prompt_id TEXT NOT NULL, seed INTEGER NOT NULL,
    metric TEXT NOT NULL, value REAL, reason TEXT, identity TEXT NOT NULL,
    PRIMARY KEY (variant_id, prompt_id, seed, metric));
CREATE TABLE IF NOT EXISTS set_scores (
    variant_id TEXT NOT NULL, metric TEXT NOT NULL, value REAL, reason TEXT,
    n INTEGER NOT NULL, identity TEXT NOT NULL, PRIMARY KEY (variant_id, metric));
"""


@dataclass(frozen=True)
class SampleRow:
    """One generated (or failed) image."""

    variant_id: str
    prompt_id: str
    seed: int
    status: str  # "ok", "flagged" (NaN or black image: not scored), "failed"
    latency_s: float | None = None
    peak_mem_bytes: int | None = None
    steps_computed: int | None = None
    steps_skipped: int | None = None
    image: str | None = None  # path relative to the run folder
    reason: str | None = None


def image_dir(variant_name: str, variant_id: str) -> str:
    """Images of a variant live under its name plus id, so changed settings never mix."""
    return f"images/{variant_name}-{variant_id[:8]}"


def telemetry_path(run_dir: Path, variant_name: str, variant_id: str) -> Path:
    """The worker's per-variant telemetry file (timings and each technique's own counters)."""
    return run_dir / "telemetry" / f"{Path(image_dir(variant_name, variant_id)).name}.json"


class Store:
    """Access to ``results.sqlite``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Autocommit off; every write method commits, so each sample is durable on return.
        self.db = sqlite3.connect(path, timeout=60)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        found = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if found is None:
            self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self.db.commit()
        elif int(found[0]) != SCHEMA_VERSION:
            raise RuntimeError(f"{path}: store schema {found[0]}, this evalsuite reads {SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # --- prompts and variants -------------------------------------------------------
    def put_prompts(self, rows: Iterable[tuple[str, str, str, int, str, dict[str, Any]]]) -> None:
        """Insert (id, text, set, index, category, meta) rows, keeping existing ones."""
        self.db.executemany(
            "INSERT OR REPLACE INTO prompts VALUES (?, ?, ?, ?, ?, ?)",
            [(i, t, s, n, c, json.dumps(m, sort_keys=True)) for i, t, s, n, c, m in rows],
        )
        self.db.commit()

    def put_variant(self, variant_id: str, name: str, spec: dict[str, Any]) -> None:
        """Register a variant (a new id for changed settings; the old rows stay apart)."""
        self.db.execute(
            "INSERT INTO variants (id, name, spec) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE "
            "SET name=excluded.name", (variant_id, name, json.dumps(spec, sort_keys=True)),
        )
        self.db.commit()

    def set_variant_status(self, variant_id: str, status: str, error: str | None = None,
                           **timings: float | str | None) -> None:
        """Record a variant's outcome and its worker timings (worker_start_s, load_s, ...)."""
        allowed = {"worker_start_s", "load_s", "cold_s", "checks"}
        cols = [k for k in timings if k in allowed and timings[k] is not None]
        sets = "".join(f", {k}=?" for k in cols)
        self.db.execute(
            f"UPDATE variants SET status=?, error=?, updated=?{sets} WHERE id=?",
            (status, error, time.time(), *(timings[k] for k in cols), variant_id),
        )
        self.db.commit()

    def variants(self) -> list[dict[str, Any]]:
        """All variant rows as dicts."""
        return [dict(r) for r in self.db.execute("SELECT * FROM variants")]

    # --- samples ---------------------------------------------------------------------
    def done_keys(self, variant_id: str) -> set[tuple[str, int]]:
        """(prompt_id, seed) pairs that need no regeneration (ok or flagged)."""
        rows = self.db.execute(
            "SELECT prompt_id, seed FROM samples WHERE variant_id=? AND status IN ('ok','flagged')",
            (variant_id,),
        )
        return {(r[0], r[1]) for r in rows}

    def put_sample(self, row: SampleRow) -> None:
        """Insert or replace one sample and commit it."""
        self.db.execute(
            "INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row.variant_id, row.prompt_id, row.seed, row.status, row.latency_s,
             row.peak_mem_bytes, row.steps_computed, row.steps_skipped, row.image, row.reason,
             time.time()),
        )
        self.db.commit()

    def samples(self, variant_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Sample rows joined with their prompt's text, set and category."""
        query = (
            "SELECT s.*, p.text, p.set_name, p.category FROM samples s "
            "JOIN prompts p ON p.id = s.prompt_id"
        )
        if variant_ids is None:
            return [dict(r) for r in self.db.execute(query)]
        marks = ",".join("?" * len(variant_ids))
        return [dict(r) for r in self.db.execute(f"{query} WHERE s.variant_id IN ({marks})",
                                                 tuple(variant_ids))]

    # --- scores ----------------------------------------------------------------------
    def scored_keys(self, metric: str, identity: str) -> set[tuple[str, str, int]]:
        """(variant, prompt, seed) already scored by ``metric`` with the same identity."""
        rows = self.db.execute(
            "SELECT variant_id, prompt_id, seed FROM scores WHERE metric=? AND identity=?",
            (metric, identity),
        )
        return {(r[0], r[1], r[2]) for r in rows}

    def put_scores(self, metric: str, identity: str,
                   rows: Iterable[tuple[str, str, int, float, str | None]]) -> None:
        """Store (variant, prompt, seed, value, reason); NaN values must carry a reason."""
        clean = []
        for v, p, s, value, reason in rows:
            if value is None or math.isnan(value):
                value, reason = None, reason or "scorer returned NaN"
            clean.append((v, p, s, metric, value, reason, identity))
        self.db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?)", clean)
        self.db.commit()

    def scores(self) -> list[dict[str, Any]]:
        """All per-image score rows."""
        return [dict(r) for r in self.db.execute("SELECT * FROM scores")]

    def put_set_score(self, variant_id: str, metric: str, value: float | None,
                      reason: str | None, n: int, identity: str) -> None:
        """Store one set-level score computed over ``n`` images."""
        self.db.execute("INSERT OR REPLACE INTO set_scores VALUES (?, ?, ?, ?, ?, ?)",
                        (variant_id, metric, value, reason, n, identity))
        self.db.commit()

    def set_scores(self) -> list[dict[str, Any]]:
        """All set-level score rows."""
        return [dict(r) for r in self.db.execute("SELECT * FROM set_scores")]
