"""Per-rank shard stores and their merge into the run's ``results.sqlite``.

Under torchrun each rank (its runner and its workers, all on one host) writes only
``shards/rank-<r>.sqlite``, so no two hosts ever write one SQLite file on a shared
filesystem. Rank 0 merges the shards while no rank writes: at start-up (what an interrupted
launch left), after generation and after scoring. Merging is idempotent and never replaces
a finished sample, so a crash at any point loses nothing and duplicates nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalsuite.store.db import Store
from evalsuite.store.paths import SHARDS
from evalsuite.store.records import SampleRecord, SetScore, variant_record
from evalsuite.store.schema import (
    DONE_SAMPLE_STATUSES,
    SAMPLES,
    SCORES,
    SET_SCORES,
    VARIANT_TIMINGS,
    Table,
    VariantStatus,
)

_DONE = ", ".join(f"'{s}'" for s in DONE_SAMPLE_STATUSES)


@dataclass
class RankStatus:
    """What one rank's workers recorded about one variant."""

    rank: int
    status: VariantStatus
    error: str | None
    timings: dict[str, float | None] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)


@dataclass
class MergeResult:
    """Rows merged from the shards, and each variant's per-rank statuses."""

    samples: int = 0
    scores: int = 0
    statuses: dict[str, list[RankStatus]] = field(default_factory=dict)


def _rank_of(path: Path) -> int:
    return int(path.stem.split("-", 1)[1])


def _copy(table: Table, where: str = "") -> str:
    """Copy ``table``'s rows from the attached shard, column by name (never by position)."""
    cols = ", ".join(table.names)
    return (f"INSERT OR REPLACE INTO main.{table.name} ({cols}) "
            f"SELECT {', '.join(f's.{c}' for c in table.names)} FROM shard.{table.name} s {where}")


def merge_shards(run_dir: Path, store: Store) -> MergeResult:
    """Merge every shard into ``store`` (one transaction per shard), then delete the shard."""
    result = MergeResult()
    db = store.db
    for path in sorted((run_dir / SHARDS).glob("rank-*.sqlite"), key=_rank_of):
        db.execute("ATTACH DATABASE ? AS shard", (str(path),))
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM shard.sqlite_master")}
            if "samples" in tables:
                # A finished sample in the run's store wins: an item is never generated
                # twice, but a replayed shard must not overwrite what is already merged.
                cur = db.execute(_copy(SAMPLES, (
                    "WHERE NOT EXISTS (SELECT 1 FROM main.samples m WHERE m.variant_id = s.variant_id "
                    f"AND m.prompt_id = s.prompt_id AND m.seed = s.seed AND m.status IN ({_DONE}))")))
                result.samples += cur.rowcount
                # Scores are computed only for keys unscored under the same identity.
                result.scores += db.execute(_copy(SCORES)).rowcount
                db.execute(_copy(SET_SCORES))
                for row in db.execute("SELECT * FROM shard.variants WHERE status != ?",
                                      (VariantStatus.PENDING.value,)):
                    v = variant_record(row)
                    result.statuses.setdefault(v.id, []).append(RankStatus(
                        _rank_of(path), v.status, v.error,
                        {k: getattr(v, k) for k in VARIANT_TIMINGS}, list(v.checks)))
            db.commit()
        finally:
            db.execute("DETACH DATABASE shard")
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    return result


def combine_statuses(expected: list[int], found: list[RankStatus]) -> RankStatus:
    """One variant's outcome from the ranks that ran it: failed if any rank failed or vanished.

    Timings are the slowest rank's; checks are the union. (Whether a cache is inert is not a
    rank's check: the summary decides it from the merged samples.)
    """
    by_rank = {s.rank: s for s in found}
    errors = []
    for r in expected:
        s = by_rank.get(r)
        if s is None or s.status not in (VariantStatus.OK, VariantStatus.FAILED):
            errors.append(f"rank {r}: worker did not finish")
        elif s.status == VariantStatus.FAILED:
            errors.append(f"rank {r}: {s.error}")
    timings: dict[str, float | None] = {}
    for k in VARIANT_TIMINGS:
        values = [s.timings[k] for s in found if s.timings.get(k) is not None]
        timings[k] = max(values) if values else None
    checks = list(dict.fromkeys(c for s in found for c in s.checks))
    if errors:
        return RankStatus(-1, VariantStatus.FAILED, "; ".join(errors)[:500], timings, checks)
    return RankStatus(-1, VariantStatus.OK, None, timings, checks)


class ScoringView:
    """The store ``score_run`` sees on one rank: all samples, 1/W of them to score.

    Reads come from the merged store (opened read-only: nobody writes it while ranks
    score), writes go to the rank's shard. Keys owned by other ranks are reported as
    already scored, so the unchanged scoring code scores exactly this rank's share.
    """

    def __init__(self, merged: Store, shard: Store, rank: int, world_size: int) -> None:
        self.merged, self.shard = merged, shard
        keys = sorted((r.variant_id, r.prompt_id, r.seed) for r in merged.samples())
        # Round-robin over the sorted keys: every rank derives the same split, and it is balanced.
        self.foreign = {k for i, k in enumerate(keys) if i % world_size != rank}

    def samples(self, variant_ids: Sequence[str] | None = None) -> list[SampleRecord]:
        """All samples (the baseline's images are needed for paired metrics)."""
        return self.merged.samples(variant_ids)

    def scored_keys(self, metric: str, identity: str, retry_prefix: str | None = None
                    ) -> set[tuple[str, str, int]]:
        """Scored keys plus every key another rank owns."""
        return self.merged.scored_keys(metric, identity, retry_prefix) | self.foreign

    def prompt_meta(self) -> dict[str, dict[str, Any]]:
        """Each prompt's metadata (GenEval's objects), from the merged store."""
        return self.merged.prompt_meta()

    def put_scores(self, metric: str, identity: str,
                   rows: Iterable[tuple[str, str, int, float, str | None]]) -> None:
        """Write into the shard."""
        self.shard.put_scores(metric, identity, rows)

    def set_scores(self) -> list[SetScore]:
        """Set-level scores already merged."""
        return self.merged.set_scores()

    def put_set_score(self, variant_id: str, metric: str, value: float | None, reason: str | None,
                      n: int, identity: str) -> None:
        """Write into the shard."""
        self.shard.put_set_score(variant_id, metric, value, reason, n, identity)
