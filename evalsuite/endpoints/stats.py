"""What an endpoint variant achieved: pure functions over its request and attempt rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from reports.jsonio import to_json
from reports.stats import spread


def _percentiles(values: Sequence[float | None]) -> dict[str, float] | None:
    """``p50``, ``p90``, ``p99``, ``mean`` and ``n`` of the finite values (the report's ``Spread``)."""
    return to_json(spread(values))


def images_per_minute(sessions: Sequence[Mapping[str, Any]]) -> float | None:
    """Images delivered per minute of wall time, over every session that sent requests."""
    wall = sum(s["wall_s"] for s in sessions)
    return 60.0 * sum(s["ok"] for s in sessions) / wall if wall > 0 else None


def endpoint_stats(requests: Sequence[Mapping[str, Any]], attempts: Sequence[Mapping[str, Any]],
                   sessions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Latency percentiles, queue/inference time, throughput, failures by kind, retries.

    Args:
        requests: endpoint_requests rows (outcome, latency_s, queue_s, inference_s, attempts).
        attempts: endpoint_attempts rows (call, outcome, wait_s).
        sessions: per run session {"wall_s": generation wall time, "ok": images delivered}.
    """
    ok = [r for r in requests if r["outcome"] in ("ok", "flagged")]
    failed = [r for r in requests if r["outcome"] not in ("ok", "flagged")]
    return {
        "requests": {"total": len(requests), "ok": len(ok), "failed": len(failed)},
        "failures_by_kind": dict(Counter(r["outcome"] for r in failed)),
        # Attempts that failed but were retried still say how the provider behaved.
        "failed_attempts_by_kind": dict(Counter(a["outcome"] for a in attempts if a["outcome"] != "ok")),
        "attempts": len(attempts),
        "retries": sum(1 for a in attempts if a["wait_s"] > 0),
        "latency_s": _percentiles([r["latency_s"] for r in ok]),
        "queue_s": _percentiles([r["queue_s"] for r in ok]),
        "inference_s": _percentiles([r["inference_s"] for r in ok]),
        "images_per_minute": images_per_minute(sessions),
    }
