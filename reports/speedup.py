"""Speedups you can trust: bootstrap CIs of latency ratios and deltas, and the sweep's drift.

A speedup is the baseline's p50 latency over the variant's, both taken over the (prompt,
seed) pairs timed in both. Its CI resamples prompts with all their seeds (as the quality
CIs do), and each resample takes the medians of the resampled pairs, so the interval is
about the very statistic the report shows. A speedup whose CI contains 1x is
"indistinguishable", exactly as a quality delta whose CI contains 0.

The CI covers the spread of image timings inside each variant, not a machine that changes
while variants run one after another. The drift check covers that: a few baseline images
timed again at the end of the sweep, in a fresh worker. Their ratio to the same images'
first timings is the machine's own drift; a speedup no larger than the drift's CI bound is
"within drift", like a quality delta within seed noise. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from reports.bootstrap import LEVEL, N_BOOT, SEED, Interval, Key
from reports.summary_records import Drift, SpeedupEntry

if TYPE_CHECKING:  # imported where computed: reading a summary or validating a suite never needs numpy
    import numpy as np

SAME = "indistinguishable"  # the speedup's CI contains 1x
DRIFT = "within drift"  # significant, but no larger than the machine drifted during the sweep
FASTER = "faster"
SLOWER = "slower"
REFERENCE = "reference"
_BLOCK = 2_000_000  # bootstrap weights held at once (rows x pairs), to bound memory


class LatencyComparison(NamedTuple):
    """A variant's latency against a reference's, over the pairs timed in both."""

    speedup: Interval  # reference p50 / variant p50
    delta_s: Interval  # variant p50 - reference p50, seconds


def _pairs(variant: Mapping[Key, float | None],
           reference: Mapping[Key, float | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aligned (variant, reference, cluster index) arrays over keys valid on both sides."""
    import numpy as np

    keys = sorted((k for k, v in variant.items()
                   if _ok(v) and _ok(reference.get(k))), key=lambda k: (str(k[0]), k[1]))
    clusters: dict[Hashable, int] = {}
    idx = [clusters.setdefault(k[0], len(clusters)) for k in keys]
    return (np.array([float(variant[k]) for k in keys]),  # type: ignore[arg-type]
            np.array([float(reference[k]) for k in keys]),  # type: ignore[arg-type]
            np.array(idx, dtype=int))


def _ok(x: float | None) -> bool:
    return x is not None and math.isfinite(x) and x > 0


def _weighted_medians(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Median of ``values`` under each row of ``weights`` (mean of the two middle values)."""
    import numpy as np

    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[:, order]
    cum = np.cumsum(w, axis=1)
    half = cum[:, -1:] / 2.0
    lo = np.argmax(cum >= half, axis=1)
    hi = np.argmax(cum > half, axis=1)
    return (v[lo] + v[hi]) / 2.0


def _interval(estimate: float, stats: np.ndarray, n: int, n_clusters: int, level: float) -> Interval:
    import numpy as np
    alpha = (1.0 - level) / 2.0
    stats = np.sort(stats)
    lo = float(stats[int(math.floor(alpha * stats.size))])
    hi = float(stats[max(int(math.ceil((1.0 - alpha) * stats.size)) - 1, 0)])
    return Interval(estimate, lo, hi, n, n_clusters)


def compare_latency(variant: Mapping[Key, float | None], reference: Mapping[Key, float | None], *,
                    n_boot: int = N_BOOT, level: float = LEVEL, seed: int = SEED) -> LatencyComparison:
    """Speedup and p50 delta of ``variant`` against ``reference``, paired by (prompt, seed).

    Args:
        variant: (prompt id, seed) -> seconds; None, NaN and non-positive values are left out.
        reference: the same for the reference (the baseline, or the drift check's start).
        n_boot: bootstrap resamples of prompts.
        level: coverage of the intervals.
        seed: seed of the resampling generator (fixed: the same run renders the same CIs).

    Returns:
        Both intervals; without bounds when fewer than two prompts are paired.
    """
    import numpy as np

    var, ref, cluster = _pairs(variant, reference)
    if var.size == 0:
        empty = Interval(None, None, None, 0, 0)
        return LatencyComparison(empty, empty)
    n_clusters = int(cluster.max()) + 1
    speed = float(np.median(ref) / np.median(var))
    delta = float(np.median(var) - np.median(ref))
    if n_clusters < 2:
        return LatencyComparison(Interval(speed, None, None, var.size, 1),
                                 Interval(delta, None, None, var.size, 1))
    rng = np.random.default_rng(seed)
    speeds, deltas = [], []
    rows = max(1, _BLOCK // var.size)
    for start in range(0, n_boot, rows):
        n = min(rows, n_boot - start)
        picks = rng.integers(0, n_clusters, size=(n, n_clusters))
        counts = np.zeros((n, n_clusters))
        np.add.at(counts, (np.arange(n)[:, None], picks), 1.0)
        weights = counts[:, cluster]  # each pair weighs as often as its prompt was drawn
        mv, mr = _weighted_medians(var, weights), _weighted_medians(ref, weights)
        speeds.append(mr / mv)
        deltas.append(mv - mr)
    return LatencyComparison(_interval(speed, np.concatenate(speeds), var.size, n_clusters, level),
                             _interval(delta, np.concatenate(deltas), var.size, n_clusters, level))


class DriftCheck(NamedTuple):
    """The same baseline images timed at the end of the sweep against their first timing."""

    ratio: Interval  # end p50 / start p50 (> 1: the machine got slower)
    flagged: bool  # start and end disagree beyond the CI
    floor: float | None  # the ratio's farthest plausible value, as a factor >= 1


def drift_check(start: Mapping[Key, float | None], end: Mapping[Key, float | None],
                **kwargs: Any) -> DriftCheck:
    """Compare the end-of-sweep re-timing with the start; flag the run when the CI excludes 1."""
    cmp = compare_latency(end, start, **kwargs).speedup  # start p50 / end p50
    if cmp.estimate is None:
        return DriftCheck(cmp, False, None)
    inv = (lambda x: None if x is None else 1.0 / x)  # noqa: E731
    ratio = Interval(inv(cmp.estimate), inv(cmp.hi), inv(cmp.lo), cmp.n, cmp.n_prompts)
    ends = [x for x in (ratio.lo, ratio.hi, ratio.estimate) if x is not None]
    floor = max(max(x, 1.0 / x) for x in ends)
    return DriftCheck(ratio, bool(ratio.excludes(1.0)), floor)


def drift_record(start: Mapping[Key, float | None], end: Mapping[Key, float | None]) -> Drift:
    """summary.json's ``drift``: the check of ``end`` (re-timed) against ``start`` (first timing)."""
    d = drift_check(start, end)
    if d.ratio.estimate is None:
        return Drift(reason="no baseline image was timed again")
    return Drift(d.ratio.estimate, d.ratio.ci, d.flagged, d.floor, d.ratio.n,
                 None if d.ratio.ci else "fewer than two prompts re-timed: no interval")


def speedup_verdict(speedup: Interval, drift_floor: float | None = None) -> str | None:
    """Read a speedup against 1x and, when the sweep measured one, against its drift."""
    significant = speedup.excludes(1.0)
    if significant is None:
        return None
    if not significant:
        return SAME
    est = speedup.estimate or 1.0
    if drift_floor is not None and 1.0 / drift_floor <= est <= drift_floor:
        return DRIFT
    return FASTER if est > 1.0 else SLOWER


def speedup_entry(variant: Mapping[Key, float | None], baseline: Mapping[Key, float | None], *,
                  is_baseline: bool, drift_floor: float | None = None) -> SpeedupEntry:
    """The summary's ``speedup`` entry of one variant (see docs/SUMMARY.md)."""
    if is_baseline:
        return SpeedupEntry(1.0, None, 0.0, None, 0, REFERENCE)
    cmp = compare_latency(variant, baseline)
    return SpeedupEntry(cmp.speedup.estimate, _pair(cmp.speedup), cmp.delta_s.estimate,
                        _pair(cmp.delta_s), cmp.speedup.n, speedup_verdict(cmp.speedup, drift_floor))


def _pair(iv: Interval) -> tuple[float, float] | None:
    return None if iv.lo is None or iv.hi is None else (iv.lo, iv.hi)


def no_credible_gain(entry: SpeedupEntry | None, gpu_ratio: float = 1.0) -> str | None:
    """Why a variant must not be preferred to the baseline for its speed; None if it may be.

    For ``recommend`` and ``tune``. ``entry`` is a variant's ``speedup`` (from
    :func:`speedup_entry`, or ``VariantResult.speedup``); ``gpu_ratio``
    (baseline GPUs / variant GPUs) turns the speedup into a cost ratio, so a 4-GPU variant
    must be more than 4x faster to be cheaper. A summary without the entry (older runs)
    gives None: nothing to hold against.
    """
    if entry is None or entry.verdict == REFERENCE:
        return None
    if entry.estimate is None:
        return "no latency timed on the baseline's prompts and seeds"
    ci = entry.ci
    est = entry.estimate * gpu_ratio
    what = "speedup" if gpu_ratio == 1.0 else "cost ratio"
    shown = f"{what} {est:.3g}x" + (f" (95% CI {ci[0] * gpu_ratio:.3g}-{ci[1] * gpu_ratio:.3g})"
                                    if ci else " (no CI: fewer than two prompts)")
    if ci is None:
        return f"{shown} cannot be told from 1x"
    if ci[0] * gpu_ratio <= 1.0:
        return f"{shown} is indistinguishable from 1x" if ci[1] * gpu_ratio >= 1.0 else f"{shown} is slower"
    if entry.verdict == DRIFT:
        return f"{shown} is within the sweep's timing drift"
    return None
