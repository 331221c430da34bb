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

from evalsuite.store.records import (
    SampleRecord,
    Score,
    SetScore,
    VariantRecord,
    sample_record,
    score_record,
    set_score_record,
    variant_record,
)
from evalsuite.store.schema import (
    DONE_SAMPLE_STATUSES,
    META,
    PROMPTS,
    SAMPLES,
    SCHEMA_VERSION,
    SCORES,
    SCRIPT,
    SET_SCORES,
    TABLES,
    VARIANT_TIMINGS,
    SampleStatus,
    VariantStatus,
)

_DONE = ", ".join(f"'{s}'" for s in DONE_SAMPLE_STATUSES)
# Built once: recording a failure must work when memory has run out (see set_variant_status).
_SET_STATUS = "UPDATE variants SET status=?, error=?, updated=? WHERE id=?"

@dataclass(frozen=True)
class SampleRow:
    """One generated (or failed) image."""

    variant_id: str
    prompt_id: str
    seed: int
    status: SampleStatus
    latency_s: float | None = None
    peak_mem_bytes: int | None = None
    steps_computed: int | None = None
    steps_skipped: int | None = None
    image: str | None = None  # path relative to the run folder
    reason: str | None = None
    energy_j: float | None = None  # joules of the generation; None: not measured (never 0)
    clip: str | None = None  # a clip's lossless copy (.npz), relative to the run folder
    # Per transformer of a model with several (Wan 2.2's experts): name -> (computed, skipped).
    expert_steps: dict[str, tuple[int, int]] | None = None


class Store:
    """Access to ``results.sqlite``."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """Open (and create or check) the store at ``path``.

        Args:
            path: the ``results.sqlite`` file (or a rank's shard).
            read_only: open a store that cannot change while it is open, with no locks and
                no WAL files: what torchrun ranks read while rank 0's merged store is idle.
        """
        self.path = path
        if read_only:
            # Immutable means no locks and no WAL files, but also that a WAL is ignored: rows
            # a killed writer (or a connection still open) left there would be invisible, and
            # a store whose schema is only in the WAL would look empty. Read those through it.
            wal = path.with_name(path.name + "-wal")
            mode = "mode=ro" if wal.is_file() and wal.stat().st_size > 0 else "immutable=1"
            self.db = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)
            self.db.row_factory = sqlite3.Row
            self._check_version(create=False)
            return
        # Autocommit off; every write method commits, so each sample is durable on return.
        self.db = sqlite3.connect(path, timeout=60)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCRIPT)
        self._add_new_columns()
        self._check_version(create=True)
        self.db.execute(_SET_STATUS, ("", None, 0.0, ""))  # compiles and caches the statement
        self.db.commit()

    @classmethod
    def open_read_only(cls, path: Path) -> Store:
        """The store at ``path`` for reading only (see ``read_only``)."""
        return cls(path, read_only=True)

    def _add_new_columns(self) -> None:
        """Give a store from an older evalsuite the nullable columns added since (e.g. energy_j)."""
        for table in TABLES:
            have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table.name})")}
            for name, sql_type in table.columns:
                if name not in have:
                    self.db.execute(f"ALTER TABLE {table.name} ADD COLUMN {name} {sql_type}")
        self.db.commit()

    def _check_version(self, create: bool) -> None:
        found = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if found is None and create:
            self.db.execute(META.insert("INSERT"), ("schema_version", str(SCHEMA_VERSION)))
            self.db.commit()
        elif found is None or int(found[0]) != SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: store schema {found and found[0]}, "
                               f"this evalsuite reads {SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- prompts and variants -------------------------------------------------------
    def put_prompts(self, rows: Iterable[tuple[str, str, str, int, str, dict[str, Any]]]) -> None:
        """Insert (id, text, set, index, category, meta) rows, keeping existing ones."""
        self.db.executemany(
            PROMPTS.insert(),
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

    def set_variant_status(self, variant_id: str, status: VariantStatus, error: str | None = None,
                           **extra: float | str | None) -> None:
        """Record a variant's outcome, and the worker's timings and checks when given.

        Args:
            variant_id: the variant's id.
            status: its new status.
            error: why it failed (None otherwise).
            **extra: any of ``worker_start_s``, ``load_s``, ``cold_s`` (seconds) and
                ``checks`` (a JSON list); None values leave the column as it is.

        Raises:
            TypeError: for any other keyword (a misspelt timing must not vanish).
        """
        unknown = set(extra) - {*VARIANT_TIMINGS, "checks"}
        if unknown:
            raise TypeError(f"set_variant_status: unknown column(s) {', '.join(sorted(unknown))}")
        status = VariantStatus(status)
        cols = [k for k, v in extra.items() if v is not None]
        if not cols:  # the failure path: a cached statement, no string building
            self.db.execute(_SET_STATUS, (status.value, error, time.time(), variant_id))
        else:
            sets = "".join(f", {k}=?" for k in cols)
            self.db.execute(f"UPDATE variants SET status=?, error=?, updated=?{sets} WHERE id=?",
                            (status.value, error, time.time(), *(extra[k] for k in cols), variant_id))
        self.db.commit()

    def variants(self) -> list[VariantRecord]:
        """All variant rows."""
        return [variant_record(r) for r in self.db.execute("SELECT * FROM variants")]

    def variant(self, variant_id: str) -> VariantRecord:
        """One variant's row.

        Raises:
            KeyError: when no variant has that id.
        """
        row = self.db.execute("SELECT * FROM variants WHERE id=?", (variant_id,)).fetchone()
        if row is None:
            raise KeyError(variant_id)
        return variant_record(row)

    # --- samples ---------------------------------------------------------------------
    def done_keys(self, variant_id: str) -> set[tuple[str, int]]:
        """(prompt_id, seed) pairs that need no regeneration (ok or flagged)."""
        rows = self.db.execute(
            f"SELECT prompt_id, seed FROM samples WHERE variant_id=? AND status IN ({_DONE})",
            (variant_id,),
        )
        return {(r[0], r[1]) for r in rows}

    def put_sample(self, row: SampleRow) -> None:
        """Insert or replace one sample and commit it."""
        self.db.execute(
            SAMPLES.insert(),
            (row.variant_id, row.prompt_id, row.seed, SampleStatus(row.status).value, row.latency_s,
             row.peak_mem_bytes, row.steps_computed, row.steps_skipped, row.image, row.reason,
             time.time(), row.energy_j, row.clip,
             None if row.expert_steps is None else json.dumps(
                 {k: list(v) for k, v in row.expert_steps.items()}, sort_keys=True)),
        )
        self.db.commit()

    def samples(self, variant_ids: Sequence[str] | None = None) -> list[SampleRecord]:
        """Sample rows joined with their prompt's text, set and category."""
        query = (
            "SELECT s.*, p.text, p.set_name, p.category FROM samples s "
            "JOIN prompts p ON p.id = s.prompt_id"
        )
        if variant_ids is None:
            return [sample_record(r) for r in self.db.execute(query)]
        marks = ",".join("?" * len(variant_ids))
        return [sample_record(r) for r in self.db.execute(f"{query} WHERE s.variant_id IN ({marks})",
                                                          tuple(variant_ids))]

    def prompt_meta(self) -> dict[str, dict[str, Any]]:
        """Each stored prompt's metadata (e.g. GenEval's objects), by prompt id."""
        return {r[0]: json.loads(r[1]) for r in self.db.execute("SELECT id, meta FROM prompts")}

    # --- scores ----------------------------------------------------------------------
    def scored_keys(self, metric: str, identity: str, retry_prefix: str | None = None
                    ) -> set[tuple[str, str, int]]:
        """(variant, prompt, seed) already scored by ``metric`` with the same identity.

        Rows whose failure reason starts with ``retry_prefix`` count as not scored (a
        failure that says nothing about the image, such as weights that were missing).
        """
        rows = self.db.execute(
            "SELECT variant_id, prompt_id, seed, reason FROM scores WHERE metric=? AND identity=?",
            (metric, identity),
        )
        return {(r[0], r[1], r[2]) for r in rows
                if not (retry_prefix and (r[3] or "").startswith(retry_prefix))}

    def put_scores(self, metric: str, identity: str,
                   rows: Iterable[tuple[str, str, int, float, str | None]]) -> None:
        """Store (variant, prompt, seed, value, reason); NaN values must carry a reason."""
        clean = []
        for v, p, s, value, reason in rows:
            if value is None or math.isnan(value):
                value, reason = None, reason or "scorer returned NaN"
            clean.append((v, p, s, metric, value, reason, identity))
        self.db.executemany(SCORES.insert(), clean)
        self.db.commit()

    def scores(self) -> list[Score]:
        """All per-image score rows."""
        return [score_record(r) for r in self.db.execute("SELECT * FROM scores")]

    def put_set_score(self, variant_id: str, metric: str, value: float | None,
                      reason: str | None, n: int, identity: str) -> None:
        """Store one set-level score computed over ``n`` images."""
        self.db.execute(SET_SCORES.insert(),
                        (variant_id, metric, value, reason, n, identity))
        self.db.commit()

    def set_scores(self) -> list[SetScore]:
        """All set-level score rows."""
        return [set_score_record(r) for r in self.db.execute("SELECT * FROM set_scores")]
