"""The fewer-steps frontier: is a cache better than simply running fewer denoising steps?

A cache buys speed by skipping work inside a denoising step. The free alternative is the
same pipeline with fewer steps. The frontier is the baseline at several reduced step
counts (plus the baseline itself); each cache variant is compared with it.

How a cache is paired with the frontier (the method ``summary.json`` names):
the cache's **partner** is the frontier point with the most steps whose latency p50 is no
higher than the cache's, i.e. the best fewer-steps configuration that fits in the cache's
time. The two are compared image by image (same prompt, same seed), and the mean
difference gets the usual bootstrap CI over prompts (``reports.bootstrap``).

Why the nearest faster step count rather than interpolating the curve at the cache's
latency: the partner is a configuration a user can actually deploy (step counts are
integers), the comparison needs no model of how quality varies between step counts, and it
is an ordinary paired difference, so its CI is exact in the same sense as every other
delta in the report. The price is that the partner may be a little faster than the cache,
which favours the cache: a "worse" or "no better" verdict is therefore conservative (a
faster configuration is at least as good), and "better" means "better than every step count
that is no slower". The partner's latency is reported so the gap is visible; choose step
counts dense enough (``frontier_steps``) that it stays small.

Pure functions over plain values; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reports.bootstrap import Key, paired_delta
from reports.jsonio import to_json
from reports.metric_info import MetricInfo

# Target speedups of the reference step counts. Published cache speedups on FLUX.1-dev sit
# between ~1.3x (conservative FBCache/TeaCache thresholds) and ~2.5x (aggressive TeaCache,
# MagCache); the ladder spans that range with room on both sides.
DEFAULT_SPEEDUPS = (1.25, 1.5, 2.0, 2.5, 3.0)
METHOD = "nearest step count no slower than the cache (latency p50), paired bootstrap over prompts"
FRONTIER_ROLE = "steps_frontier"  # the role of the fewer-steps reference variants (suite and summary)

BETTER = "better"  # better than fewer steps at no more latency
NO_BETTER = "no better"  # indistinguishable from fewer steps at no more latency
WORSE = "worse"  # fewer steps at no more latency are better


def frontier_steps(base_steps: int, speedups: Iterable[float] = DEFAULT_SPEEDUPS) -> tuple[int, ...]:
    """Reduced step counts for the frontier, most steps first.

    The rule: ``round(base_steps / s)`` for each target speedup ``s`` (denoising time is
    close to proportional to the step count, text encoding and decoding are not, so the
    measured speedups come out a little lower), keeping distinct counts in ``[1, base_steps)``.

    Args:
        base_steps: the baseline's step count.
        speedups: target speedups, each above 1.

    Returns:
        The step counts, descending; empty when the baseline has a single step.
    """
    out = {max(1, round(base_steps / s)) for s in speedups if s > 1}
    return tuple(sorted((n for n in out if n < base_steps), reverse=True))


@dataclass(frozen=True)
class FrontierPoint:
    """One configuration on the fewer-steps curve (the baseline is one too)."""

    name: str
    steps: int
    latency_s: float  # p50


def partner_for(latency_s: float, points: Sequence[FrontierPoint]) -> FrontierPoint | None:
    """The frontier point with the most steps whose latency is no higher than ``latency_s``.

    Returns None when every point is slower (the cache is faster than the fewest steps).
    """
    fitting = [p for p in points if math.isfinite(p.latency_s) and p.latency_s <= latency_s]
    return max(fitting, key=lambda p: (p.steps, -p.latency_s)) if fitting else None


def reference_values(info: MetricInfo, keys: Iterable[Key]) -> dict[Key, float]:
    """What a paired metric's baseline scores against itself, per key (its ideal or +/-inf).

    Used when the partner is the baseline itself: a paired metric (SSIM, LPIPS, PSNR)
    compares an image with the baseline's, so the baseline's own value is the ideal.
    """
    return {k: info.reference for k in keys}


@dataclass(frozen=True)
class MetricComparison:
    """One metric: the cache minus its fewer-steps partner, paired by prompt and seed."""

    metric: str
    delta: float | None  # mean of cache - partner (metric's own units and direction)
    ci: tuple[float, float] | None
    n_pairs: int
    verdict: str | None  # BETTER, NO_BETTER, WORSE; None without a CI



def compare_metric(metric: str, info: MetricInfo, cache: Mapping[Key, float | None],
                   partner: Mapping[Key, float | None]) -> MetricComparison:
    """Paired comparison of one metric between a cache variant and its partner.

    Args:
        metric: the metric's name.
        info: how to read the metric (its direction).
        cache: the cache variant's per-image values by (prompt, seed).
        partner: the partner's per-image values by (prompt, seed).
    """
    d = paired_delta(cache, partner)
    ci = (d.lo, d.hi) if d.lo is not None and d.hi is not None else None
    significant = d.excludes(0.0)
    if significant is None:
        verdict = None
    elif not significant:
        verdict = NO_BETTER
    else:
        gain = d.estimate if info.higher_is_better else -(d.estimate or 0.0)
        verdict = BETTER if (gain or 0.0) > 0 else WORSE
    return MetricComparison(metric, d.estimate, ci, d.n, verdict)


def overall(comparisons: Iterable[MetricComparison]) -> str | None:
    """One verdict over metrics: worse if any metric is worse, better if any is better
    and none worse, else no better; None when no metric had a CI."""
    verdicts = [c.verdict for c in comparisons if c.verdict is not None]
    if not verdicts:
        return None
    if WORSE in verdicts:
        return WORSE
    return BETTER if BETTER in verdicts else NO_BETTER


@dataclass(frozen=True)
class FrontierVerdict:
    """A cache variant against the fewer-steps frontier."""

    variant: str
    latency_s: float
    partner: str | None
    partner_steps: int | None
    partner_latency_s: float | None
    verdict: str | None
    metrics: Mapping[str, MetricComparison] = field(default_factory=dict)
    reason: str | None = None  # why there is no verdict, or a caveat on it
    method: str = METHOD

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (summary.json ``vs_fewer_steps``)."""
        return to_json(self)


def frontier_verdict(variant: str, latency_s: float, points: Sequence[FrontierPoint],
                     values: Mapping[str, Mapping[Key, float | None]],
                     point_values: Mapping[str, Mapping[str, Mapping[Key, float | None]]],
                     metrics: Mapping[str, MetricInfo]) -> FrontierVerdict:
    """Judge one cache variant against the frontier.

    Args:
        variant: the cache variant's name.
        latency_s: its latency p50.
        points: the frontier, the baseline included.
        values: metric -> the cache variant's per-image values.
        point_values: frontier point name -> metric -> per-image values (for the baseline,
            paired metrics hold ``reference_values``).
        metrics: metric -> info; set-level metrics are skipped
            (one value per variant has no pairs to compare).
    """
    per_image = [m for m, info in metrics.items() if info.kind != "set"]
    partner = partner_for(latency_s, points)
    reason = None
    if partner is None:
        if not points:
            return FrontierVerdict(variant, latency_s, None, None, None, None,
                                   reason="no fewer-steps reference was measured")
        # Faster than every step count: only a clear win (faster *and* better) is a verdict.
        partner = min(points, key=lambda p: p.latency_s)
        reason = (f"faster than the fewest-steps reference ({partner.steps} steps); "
                  "only a clear win is a verdict, add smaller step counts to judge it")
    comps = {m: compare_metric(m, metrics[m], values.get(m, {}),
                               point_values.get(partner.name, {}).get(m, {})) for m in per_image}
    verdict = overall(comps.values())
    if reason is not None and verdict != BETTER:
        verdict = None
    return FrontierVerdict(variant, latency_s, partner.name, partner.steps, partner.latency_s,
                           verdict, comps, reason)


@dataclass(frozen=True)
class FrontierPointResult:
    """One point of the frontier as summary.json records it."""

    variant: str
    steps: int
    latency_s: float  # p50
    cost_per_image_usd: float | None = None


@dataclass(frozen=True)
class StepsFrontier:
    """summary.json ``steps_frontier``: the reference points and every cache's verdict."""

    method: str
    rule: str
    points: tuple[FrontierPointResult, ...] = ()
    verdicts: tuple[FrontierVerdict, ...] = ()


@dataclass(frozen=True)
class CurvePoint:
    """One point of the reference curve drawn on a Pareto chart."""

    name: str
    steps: int
    x: float  # latency p50 or cost per image
    quality: float


def reference_curve(points: Iterable[CurvePoint]) -> list[CurvePoint]:
    """The frontier's points in drawing order (by x), without non-finite ones."""
    return sorted((p for p in points if math.isfinite(p.x) and not math.isnan(p.quality)),
                  key=lambda p: (p.x, p.steps))
