"""The drift check's own store, ``drift.sqlite``: read here, written by ``evalsuite.run.drift``.

The report reads the re-timed baseline rows; keeping the reader beside the store lets the
analysis layer read them without importing the runner's side of the check.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from evalsuite.store.paths import DRIFT_STORE
from evalsuite.store.records import SampleRecord, sample_record


def retimed_rows(run_dir: Path, variant_id: str) -> list[SampleRecord]:
    """The re-timed baseline sample rows of the last drift check ([] when there was none)."""
    path = run_dir / DRIFT_STORE
    if not path.is_file():
        return []
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)  # reading never writes
    con.row_factory = sqlite3.Row
    try:
        rows = con.execute("SELECT * FROM samples WHERE variant_id=?", (variant_id,))
        return [sample_record(r) for r in rows]
    except sqlite3.DatabaseError:  # a check killed before its first row: no table yet
        return []
    finally:
        con.close()
