"""Endpoint request and attempt rows, in the run's ``results.sqlite`` beside the samples.

Two tables of their own (the store's tables are unchanged, so resume, scoring and reports
read endpoint samples exactly like local ones):

- ``endpoint_requests``: one row per image request and how it ended (latency, queue and
  inference time where reported, failure kind, attempts, the size asked for and the size
  delivered), one per run session.
- ``endpoint_attempts``: one row per HTTP attempt, retries and polls included.

Each row is committed when its request ends, so ``kill -9`` loses only requests in flight.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalsuite.endpoints.http import Attempt

_SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoint_requests (
    variant_id TEXT NOT NULL, prompt_id TEXT NOT NULL, seed INTEGER NOT NULL, session REAL NOT NULL,
    outcome TEXT NOT NULL, latency_s REAL, queue_s REAL, inference_s REAL, attempts INTEGER NOT NULL,
    sha256 TEXT, reason TEXT, created REAL NOT NULL, req_width INTEGER, req_height INTEGER,
    width INTEGER, height INTEGER);
CREATE TABLE IF NOT EXISTS endpoint_attempts (
    variant_id TEXT NOT NULL, prompt_id TEXT NOT NULL, seed INTEGER NOT NULL, session REAL NOT NULL,
    call TEXT NOT NULL, attempt INTEGER NOT NULL, started REAL NOT NULL, elapsed_s REAL NOT NULL,
    status INTEGER, outcome TEXT NOT NULL, detail TEXT, wait_s REAL NOT NULL);
"""


@dataclass(frozen=True)
class RequestRow:
    """How one image request ended."""

    variant_id: str
    prompt_id: str
    seed: int
    outcome: str  # "ok", "flagged" or a failure kind
    latency_s: float | None
    queue_s: float | None
    inference_s: float | None
    attempts: int
    sha256: str | None = None  # of the encoded bytes the endpoint sent
    reason: str | None = None
    req_width: int | None = None  # the size asked for
    req_height: int | None = None
    width: int | None = None  # the size delivered (None: no image)
    height: int | None = None


class EndpointLog:
    """Writes and reads the two endpoint tables of one run folder."""

    def __init__(self, db_path: Path, session: float | None = None) -> None:
        self.db = sqlite3.connect(db_path, timeout=60)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(_SCHEMA)
        have = {r[1] for r in self.db.execute("PRAGMA table_info(endpoint_requests)")}
        with self.db:  # a run folder from before sizes were recorded gains the columns
            for column in ("req_width", "req_height", "width", "height"):
                if column not in have:
                    self.db.execute(f"ALTER TABLE endpoint_requests ADD COLUMN {column} INTEGER")
        self.session = session if session is not None else time.time()

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def put(self, row: RequestRow, attempts: Iterable[Attempt]) -> None:
        """Record a finished request and all its attempts in one transaction."""
        with self.db:
            self.db.execute(
                "INSERT INTO endpoint_requests (variant_id, prompt_id, seed, session, outcome, latency_s, "
                "queue_s, inference_s, attempts, sha256, reason, created, req_width, req_height, width, "
                "height) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row.variant_id, row.prompt_id, row.seed, self.session, row.outcome, row.latency_s,
                 row.queue_s, row.inference_s, row.attempts, row.sha256, row.reason, time.time(),
                 row.req_width, row.req_height, row.width, row.height))
            self.db.executemany(
                "INSERT INTO endpoint_attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(row.variant_id, row.prompt_id, row.seed, self.session, a.call, a.attempt, a.started,
                  a.elapsed_s, a.status, a.outcome, a.detail, a.wait_s) for a in attempts])

    def requests(self, variant_id: str) -> list[dict[str, Any]]:
        """All request rows of a variant, every session."""
        return [dict(r) for r in self.db.execute(
            "SELECT * FROM endpoint_requests WHERE variant_id=? ORDER BY created", (variant_id,))]

    def attempts(self, variant_id: str) -> list[dict[str, Any]]:
        """All attempt rows of a variant, every session."""
        return [dict(r) for r in self.db.execute(
            "SELECT * FROM endpoint_attempts WHERE variant_id=? ORDER BY started", (variant_id,))]
