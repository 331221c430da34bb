"""The run store's schema, in one place: tables, their columns in order, and the statuses.

``store.py`` creates the tables from here and ``shards.py`` merges shard stores into the
run's store with these column names, so adding a column is one edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SCHEMA_VERSION = 1


class SampleStatus(StrEnum):
    """One generated image's outcome (a ``str``: compares equal to the stored text)."""

    OK = "ok"
    FLAGGED = "flagged"  # NaN or black image: stored, timed, never scored
    FAILED = "failed"


class VariantStatus(StrEnum):
    """One variant's generation outcome."""

    PENDING = "pending"
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"


DONE_SAMPLE_STATUSES = (SampleStatus.OK, SampleStatus.FLAGGED)  # need no regeneration


@dataclass(frozen=True)
class Table:
    """One table: its name, its columns (name and SQL type, in order) and primary key."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in order."""
        return tuple(c for c, _ in self.columns)

    def create(self) -> str:
        """The ``CREATE TABLE IF NOT EXISTS`` statement."""
        cols = [f"{c} {t}" for c, t in self.columns]
        if self.key:
            cols.append(f"PRIMARY KEY ({', '.join(self.key)})")
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({', '.join(cols)});"

    def insert(self, verb: str = "INSERT OR REPLACE") -> str:
        """An insert of every column, in order, from ``?`` parameters."""
        marks = ", ".join("?" * len(self.columns))
        return f"{verb} INTO {self.name} ({', '.join(self.names)}) VALUES ({marks})"


META = Table("meta", (("key", "TEXT PRIMARY KEY"), ("value", "TEXT NOT NULL")))
PROMPTS = Table("prompts", (
    ("id", "TEXT PRIMARY KEY"), ("text", "TEXT NOT NULL"), ("set_name", "TEXT NOT NULL"),
    ("idx", "INTEGER NOT NULL"), ("category", "TEXT NOT NULL"), ("meta", "TEXT NOT NULL")))
# Worker timings a variant row records besides its status (set_variant_status's keywords).
VARIANT_TIMINGS = ("worker_start_s", "load_s", "cold_s")
VARIANTS = Table("variants", (
    ("id", "TEXT PRIMARY KEY"), ("name", "TEXT NOT NULL"), ("spec", "TEXT NOT NULL"),
    ("status", f"TEXT NOT NULL DEFAULT '{VariantStatus.PENDING}'"), ("error", "TEXT"),
    *((t, "REAL") for t in VARIANT_TIMINGS), ("checks", "TEXT"), ("updated", "REAL")))
SAMPLES = Table("samples", (
    ("variant_id", "TEXT NOT NULL"), ("prompt_id", "TEXT NOT NULL"), ("seed", "INTEGER NOT NULL"),
    ("status", "TEXT NOT NULL"), ("latency_s", "REAL"), ("peak_mem_bytes", "INTEGER"),
    ("steps_computed", "INTEGER"), ("steps_skipped", "INTEGER"), ("image", "TEXT"),
    ("reason", "TEXT"), ("created", "REAL"),
    # Added after the first release: Store adds them to older stores (see Store.__init__).
    # clip: a clip's lossless copy (.npz; its MP4 shares the stem, ``image`` is its poster);
    # expert_steps: JSON {transformer: [computed, skipped]} where a model has several (Wan 2.2).
    ("energy_j", "REAL"), ("clip", "TEXT"), ("expert_steps", "TEXT")),
    key=("variant_id", "prompt_id", "seed"))
SCORES = Table("scores", (
    ("variant_id", "TEXT NOT NULL"), ("prompt_id", "TEXT NOT NULL"), ("seed", "INTEGER NOT NULL"),
    ("metric", "TEXT NOT NULL"), ("value", "REAL"), ("reason", "TEXT"), ("identity", "TEXT NOT NULL")),
    key=("variant_id", "prompt_id", "seed", "metric"))
SET_SCORES = Table("set_scores", (
    ("variant_id", "TEXT NOT NULL"), ("metric", "TEXT NOT NULL"), ("value", "REAL"),
    ("reason", "TEXT"), ("n", "INTEGER NOT NULL"), ("identity", "TEXT NOT NULL")),
    key=("variant_id", "metric"))

TABLES = (META, PROMPTS, VARIANTS, SAMPLES, SCORES, SET_SCORES)
SCRIPT = "\n".join(t.create() for t in TABLES)
