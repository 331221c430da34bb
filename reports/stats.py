"""Aggregates over per-image values: pure functions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence

from reports.records import Spread
from reports.summary_records import Latency


def spread(values: Sequence[float | None]) -> Spread | None:
    """Percentiles (linear interpolation), mean and count of the finite values; None if none.

    The one place timings are summarised: a variant's latencies (:func:`latency_stats`) and
    an endpoint's request timings (``evalsuite/endpoints/stats.py``).
    """
    import numpy as np  # here, not at the top: reading a summary or validating a suite never needs it

    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if arr.size == 0:
        return None
    p50, p90, p99 = np.percentile(arr, [50, 90, 99])
    return Spread(float(p50), float(p90), float(p99), float(arr.mean()), int(arr.size))


def latency_stats(values: Sequence[float | None]) -> Latency | None:
    """Percentiles (linear interpolation) and mean of the finite latencies; None if none."""
    s = spread(values)
    return None if s is None else Latency(s.p50, s.p90, s.p99, s.mean)
