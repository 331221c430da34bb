"""One variant's entry for one metric in summary.json: mean, CI, paired delta, verdict.

Deltas are always "variant minus reference": for per-image metrics the reference is the
baseline's own image of the same prompt and seed (a paired delta); for paired metrics
(PSNR, SSIM, LPIPS compare each image with the baseline's) it is the metric's ideal, which
is what the baseline scores against itself; PSNR has no finite ideal and so no delta.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from reports.bootstrap import EMPTY, Interval, Key, cluster_bootstrap, paired_delta, shift

# Verdicts on a delta, in the order the report explains them.
SAME = "indistinguishable"  # the delta's CI contains 0
NOISE = "within seed noise"  # significant, but no larger than seed noise alone moves the metric
WORSE = "worse"
BETTER = "better"
REFERENCE = "reference"  # the baseline itself


def oriented_loss(info: Mapping[str, Any], delta: float | None) -> float | None:
    """A delta turned into a loss: positive means worse, whatever the metric's direction."""
    if delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return None
    return -delta if info["higher_is_better"] else delta


def delta_interval(info: Mapping[str, Any], values: Mapping[Key, float | None],
                   base: Mapping[Key, float | None]) -> tuple[Interval, Interval]:
    """(the variant's mean interval, its delta interval against the reference)."""
    mean = cluster_bootstrap(values)
    if info["kind"] == "paired":
        ideal = info.get("ideal")
        return mean, (shift(mean, float(ideal)) if ideal is not None else EMPTY)
    return mean, paired_delta(values, base)


def noise_floor_of(info: Mapping[str, Any], delta: Interval) -> float | None:
    """How far seed noise alone moves the metric's mean: the larger end of the delta's CI.

    For a per-image metric, ``delta`` is "baseline with other seeds minus baseline", so the
    floor is the largest mean shift that merely reseeding plausibly produces. For a paired
    metric it is how far a completely different sample of the same prompt lands from the
    baseline's image: a scale for reading fidelity numbers, not a tolerance.
    """
    if delta.estimate is None:
        return None
    ends = [x for x in (delta.lo, delta.hi, delta.estimate) if x is not None]
    return max(abs(x) for x in ends)


def verdict(info: Mapping[str, Any], delta: Interval, floor: float | None) -> str | None:
    """Read a delta against its CI and, for per-image metrics, against the noise floor."""
    significant = delta.excludes(0.0)
    if significant is None:
        return None
    if not significant:
        return SAME
    if info["kind"] == "per-image" and floor is not None and abs(delta.estimate or 0.0) <= floor:
        return NOISE
    loss = oriented_loss(info, delta.estimate)
    return WORSE if (loss or 0.0) > 0 else BETTER


def _set_entry(info: Mapping[str, Any], row: Mapping[str, Any] | None, is_baseline: bool) -> dict:
    has_value = bool(row) and row.get("value") is not None  # type: ignore[union-attr]
    mean = (row or {}).get("value") if not is_baseline else info.get("ideal")
    ideal = info.get("ideal")
    delta = None if is_baseline or mean is None or ideal is None else mean - ideal
    return {"mean": mean, "n_valid": (row or {}).get("n", 0) if has_value else 0, "n_failed": 0,
            "failures": {row["reason"]: 1} if row and row.get("reason") else {},
            "reference": is_baseline, "delta_vs_baseline": delta, "ci": None, "delta_ci": None,
            "n_pairs": 0, "significant": None, "within_noise": None,
            "verdict": REFERENCE if is_baseline else None}


def metric_entry(info: Mapping[str, Any], values: Mapping[Key, float | None],
                 base: Mapping[Key, float | None], *, is_baseline: bool,
                 reasons: Counter | None = None, set_row: Mapping[str, Any] | None = None,
                 floor: float | None = None) -> dict[str, Any]:
    """The summary entry of one metric for one variant.

    Args:
        info: the metric's {higher_is_better, kind, ideal}.
        values: the variant's per-image values by (prompt, seed); None/NaN = failed.
        base: the baseline's values by (prompt, seed) (per-image metrics only).
        is_baseline: the entry is the baseline's own.
        reasons: failure reason -> count.
        set_row: the set_scores row of a set-level metric.
        floor: the metric's noise floor, when the suite measured one.
    """
    if info["kind"] == "set":
        return _set_entry(info, set_row, is_baseline)
    if info["kind"] == "paired" and is_baseline:
        ideal = info.get("ideal")
        return {"mean": ideal, "n_valid": 0, "n_failed": 0, "failures": {}, "reference": True,
                "delta_vs_baseline": 0.0 if ideal is not None else None, "ci": None,
                "delta_ci": None, "n_pairs": 0, "significant": None, "within_noise": None,
                "verdict": REFERENCE}
    mean, delta = delta_interval(info, values, base)
    n_failed = len(values) - mean.n
    within = (abs(delta.estimate) <= floor if floor is not None and delta.estimate is not None
              and info["kind"] == "per-image" else None)
    return {
        "mean": mean.estimate, "n_valid": mean.n, "n_failed": n_failed,
        "failures": dict(reasons or {}), "reference": False,
        "delta_vs_baseline": delta.estimate, "ci": mean.ci, "delta_ci": delta.ci,
        "n_pairs": delta.n if info["kind"] == "per-image" else mean.n,
        "significant": delta.excludes(0.0), "within_noise": within,
        "verdict": REFERENCE if is_baseline else verdict(info, delta, floor),
    }


def noise_entry(info: Mapping[str, Any], values: Mapping[Key, float | None],
                base: Mapping[Key, float | None]) -> dict[str, Any]:
    """What reseeding the baseline does to one metric (summary.json ``noise_floor``)."""
    if info["kind"] == "set":
        return {"mean": None, "ci": None, "delta": None, "delta_ci": None, "floor": None, "n": 0}
    mean, delta = delta_interval(info, values, base)
    return {"mean": mean.estimate, "ci": mean.ci, "delta": delta.estimate, "delta_ci": delta.ci,
            "floor": noise_floor_of(info, delta), "n": mean.n}
