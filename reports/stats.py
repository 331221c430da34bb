"""Aggregates over per-image values: pure functions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence

from reports.summary_records import Latency


def latency_stats(values: Sequence[float | None]) -> Latency | None:
    """Percentiles (linear interpolation) and mean of the finite latencies; None if none."""
    import numpy as np  # here, not at the top: reading a summary or validating a suite never needs it

    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if arr.size == 0:
        return None
    p50, p90, p99 = np.percentile(arr, [50, 90, 99])
    return Latency(float(p50), float(p90), float(p99), float(arr.mean()))
