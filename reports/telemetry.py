"""Cache telemetry: skip rate against the swept parameter, inert variants and quality cliffs.

A cache variant is *inert* when it skipped no denoising step in the whole run: it is the
baseline at the cost of the cache's bookkeeping, usually a threshold set too low. A *cliff*
is a sweep step that is small compared with the swept range but costs most of the sweep's
quality loss: the threshold just before it is where a user should stop.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from reports.metric_info import MetricInfo
from reports.metric_stats import WORSE, oriented_loss
from reports.records import SampleRecord, SweepAxis, VariantRun
from reports.summary_records import Cliff, ExpertSteps, Sweep, Telemetry, TelemetryPoint, VariantResult

# A step is a cliff when it carries at least this share of the sweep's total loss ...
CLIFF_MIN_SHARE = 0.5
# ... and at least this many times its share of the swept range (it is steeper than average).
CLIFF_STEEPNESS = 2.0


INERT_CHECK = "inert: the cache skipped no denoising step in the whole run"


def is_inert(v: VariantRun, ok_images: int, skipped: int) -> bool:
    """The one test of an inert cache: a cache variant whose images skipped no step at all.

    It is decided over the whole run, never per worker: with several ranks one rank's share
    may happen never to skip.
    """
    return v.cache is not None and ok_images > 0 and skipped == 0


def inert_expert_check(name: str) -> str:
    """The check of a cache that skipped steps of some transformers but none of ``name``'s."""
    return f"inert on {name}: the cache skipped none of this transformer's steps in the whole run"


def expert_steps(v: VariantRun, ok: Sequence[SampleRecord]) -> dict[str, ExpertSteps]:
    """Computed and skipped steps per transformer (Wan 2.2's experts) over ``ok`` samples, each
    flagged inert as :func:`is_inert` flags a variant; {} for a model with one transformer."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in ok:
        for name, (computed, skipped) in json.loads(r.expert_steps or "{}").items():
            totals[name][0] += computed
            totals[name][1] += skipped
    return {name: ExpertSteps(c, s, s / (c + s) if c + s else None, is_inert(v, len(ok), s))
            for name, (c, s) in sorted(totals.items())}


class SweepPoint(NamedTuple):
    """One variant of a sweep, as the cliff finder sees it for one metric."""

    name: str
    x: float
    loss: float | None  # positive = worse than the baseline
    worse: bool | None  # significantly worse than the baseline (None: no test possible)


def find_cliffs(points: Sequence[SweepPoint], min_share: float = CLIFF_MIN_SHARE,
                steepness: float = CLIFF_STEEPNESS) -> tuple[Cliff, ...]:
    """Steps between consecutive sweep values (sorted by x) that are cliffs.

    Needs three points with finite losses (two steps): with one step there is nothing to
    compare its slope with. The point after the step must be significantly worse than the
    baseline, unless the metric has no significance test (PSNR), so noise is never a cliff.
    """
    pts = sorted((p for p in points if p.loss is not None and math.isfinite(p.loss)), key=lambda p: p.x)
    if len(pts) < 3 or pts[-1].x <= pts[0].x:
        return ()
    jumps = [b.loss - a.loss for a, b in zip(pts, pts[1:], strict=False)]  # type: ignore[operator]
    total = sum(j for j in jumps if j > 0)
    span = pts[-1].x - pts[0].x
    if total <= 0:
        return ()
    cliffs = []
    for (a, b), jump in zip(zip(pts, pts[1:], strict=False), jumps, strict=True):
        share, rshare = jump / total, (b.x - a.x) / span
        if share >= min_share and share >= steepness * rshare and b.worse is not False:
            cliffs.append(Cliff(a.name, b.name, a.x, b.x, a.loss, b.loss, share, rshare))  # type: ignore[arg-type]
    return tuple(cliffs)


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def cache_axis(v: VariantResult) -> SweepAxis | None:
    """The numeric parameter of its cache that the variant's [[variant]] table sweeps."""
    if v.cache is None:
        return None
    return next((a for a in v.sweep if a.accelerator == v.cache.accelerator
                 and all(_numeric(x) for x in a.values)), None)


def sweep_value(v: VariantResult, axis: SweepAxis) -> Any:
    """The variant's value along one axis of its table's sweep."""
    if not axis.accelerator:
        return v.generation.get(axis.param)
    return v.accelerators.get(axis.accelerator, {}).get(axis.param)


def variant_loss(variant: VariantResult, metric: str, info: MetricInfo) -> float | None:
    """Oriented loss against the baseline; PSNR (no delta) falls back to minus its value."""
    entry = variant.metrics.get(metric)
    if entry is None:
        return None
    if entry.delta_vs_baseline is not None:
        return oriented_loss(info, entry.delta_vs_baseline)
    return oriented_loss(info, entry.mean) if entry.mean is not None else None


def cache_telemetry(variants: Sequence[VariantResult], metrics: Mapping[str, MetricInfo]) -> Telemetry:
    """Cache sweeps as the suite declared them, with skip rates, inert variants and cliffs.

    One series per [[variant]] table and combination of its other swept values, along the
    cache parameter the table sweeps (a cache variant whose table sweeps none of its cache's
    parameters is a series of one, with no parameter).
    """
    series: dict[tuple[Any, ...], list[VariantResult]] = defaultdict(list)
    for v in variants:
        if v.cache is None or v.status != "ok":
            continue
        axis = cache_axis(v)
        others = tuple((a.accelerator, a.param, sweep_value(v, a)) for a in v.sweep if a != axis)
        series[(v.group or v.name, v.cache.accelerator, axis.param if axis else None, others)].append(v)
    sweeps = []
    for (group, acc, param, _), members in series.items():
        xs = {v.name: float(v.cache.params[param]) if param else math.nan for v in members}  # type: ignore[union-attr]
        members = sorted(members, key=lambda v: xs[v.name])
        first = members[0]
        fixed = {k: p for k, p in first.cache.params.items() if k != param}  # type: ignore[union-attr]
        others = {**{k: p for k, p in first.accelerators.items() if k != acc}, **first.generation}
        sweeps.append(_sweep(acc, param, group, fixed, others, members, xs, metrics))
    return Telemetry(tuple(sweeps), tuple(v.name for v in variants if v.inert))


def _worse(v: VariantResult, metric: str) -> bool | None:
    """Significantly worse than the baseline on ``metric`` (None: no test possible)."""
    entry = v.metrics.get(metric)
    return None if entry is None or entry.verdict is None else entry.verdict == WORSE


def _sweep(acc: str, param: str | None, group: str, fixed: Mapping[str, Any], others: Mapping[str, Any],
           members: Sequence[VariantResult], xs: Mapping[str, float],
           metrics: Mapping[str, MetricInfo]) -> Sweep:
    cliffs = {}
    for m, info in metrics.items():
        pts = [SweepPoint(v.name, xs[v.name], variant_loss(v, m, info), _worse(v, m)) for v in members]
        if found := find_cliffs(pts):
            cliffs[m] = found
    points = tuple(TelemetryPoint(v.name, xs[v.name], v.steps.skip_rate, v.speedup_p50, v.inert,
                                  {m: variant_loss(v, m, i) for m, i in metrics.items()}) for v in members)
    return Sweep(acc, param, dict(fixed), dict(others), points, cliffs, group)


def cliff_notes(telemetry: Telemetry) -> dict[str, tuple[str, ...]]:
    """Variant name -> one line per cliff that ends at it, for the variants table."""
    notes: dict[str, list[str]] = defaultdict(list)
    for sweep in telemetry.sweeps:
        for metric, cliffs in sweep.cliffs.items():
            for c in cliffs:
                notes[c.after].append(
                    f"cliff: {metric} loss {c.loss_before:.3g} -> {c.loss_after:.3g} from "
                    f"{sweep.param} {c.x_before:g} to {c.x_after:g} "
                    f"({c.share_of_loss:.0%} of the sweep's loss in {c.share_of_range:.0%} "
                    "of its range)")
    return {k: tuple(v) for k, v in notes.items()}
