"""What the store reads back: typed, frozen records, one per row.

Samples, scores and set scores are read as the report's own records (``reports.records``,
the leaf every layer may import), so the report receives exactly what the store holds, with
no conversion in between. A variant row is read as :class:`VariantRecord`, which only
evalsuite reads. Statuses come back as the schema's enums, so code compares them with
``SampleStatus.OK`` rather than the string ``"ok"``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evalsuite.store.schema import SampleStatus, VariantStatus
from reports.records import SampleRecord, Score, SetScore

__all__ = ["SampleRecord", "Score", "SetScore", "VariantRecord", "sample_record", "score_record",
           "set_score_record", "variant_record"]


@dataclass(frozen=True)
class VariantRecord:
    """One variant row: its settings, how its generation went and the worker's timings."""

    id: str
    name: str
    spec: Mapping[str, Any] = field(default_factory=dict)  # its accelerators and settings
    status: VariantStatus = VariantStatus.PENDING
    error: str | None = None
    worker_start_s: float | None = None
    load_s: float | None = None
    cold_s: float | None = None
    checks: tuple[str, ...] = ()  # the accelerators' own checks, e.g. a cache that skipped nothing
    updated: float | None = None


def variant_record(row: sqlite3.Row) -> VariantRecord:
    """A ``variants`` row as a record (the JSON columns parsed)."""
    return VariantRecord(
        id=row["id"], name=row["name"], spec=json.loads(row["spec"] or "{}"),
        status=VariantStatus(row["status"]), error=row["error"], worker_start_s=row["worker_start_s"],
        load_s=row["load_s"], cold_s=row["cold_s"], checks=tuple(json.loads(row["checks"] or "[]")),
        updated=row["updated"])


def _fields(cls: type, row: sqlite3.Row) -> dict[str, Any]:
    """The row's columns that ``cls`` has (a record never takes a column it does not know)."""
    names = row.keys()
    return {k: row[k] for k in cls.__dataclass_fields__ if k in names}  # type: ignore[attr-defined]


def sample_record(row: sqlite3.Row) -> SampleRecord:
    """A ``samples`` row (joined with its prompt's text, set and category) as a record."""
    return SampleRecord(**{**_fields(SampleRecord, row), "status": SampleStatus(row["status"])})


def score_record(row: sqlite3.Row) -> Score:
    """A ``scores`` row as a record."""
    return Score(**_fields(Score, row))


def set_score_record(row: sqlite3.Row) -> SetScore:
    """A ``set_scores`` row as a record."""
    return SetScore(**_fields(SetScore, row))
