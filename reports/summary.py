"""The summary: one entry per variant, built by pure functions over the stored tables.

The schema of summary.json is documented in docs/SUMMARY.md; bump ``SCHEMA_VERSION`` on
breaking changes. :func:`summary_to_json` and :func:`summary_from_json` are its two edges.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from reports import bootstrap
from reports.categories import category_breakdown
from reports.equal_work import equal_work
from reports.jsonio import SchemaError, from_json, to_json
from reports.metric_info import MetricInfo
from reports.metric_stats import metric_entry, noise_entry
from reports.pareto import Point, pareto_front
from reports.records import Pricing, SampleRecord, Score, SetScore, VariantRun, cost_per_image
from reports.stats import latency_stats
from reports.summary_records import (
    NoiseFloor,
    ParetoMembership,
    SampleCounts,
    StatsInfo,
    Steps,
    Summary,
    VariantResult,
)
from reports.telemetry import (
    INERT_CHECK,
    cache_telemetry,
    cliff_notes,
    expert_steps,
    inert_expert_check,
    is_inert,
)
from reports.timing import add_timing, drift_of, mark_energy_front

SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)  # every version only added fields
NOISE_ROLE = "noise_floor"  # the baseline again with other seeds, stored under the same keys

Scores = dict[tuple[str, str], dict[tuple[str, int], float | None]]


def index_scores(scores: Sequence[Score]) -> tuple[Scores, dict[tuple[str, str], Counter]]:
    """(variant id, metric) -> {(prompt, seed): value (NaN if failed)}, and -> failure reasons."""
    scores_by: Scores = defaultdict(dict)
    reasons_by: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in scores:
        value = r.value if r.value is not None else math.nan
        scores_by[(r.variant_id, r.metric)][(r.prompt_id, r.seed)] = value
        if r.reason:
            reasons_by[(r.variant_id, r.metric)][r.reason] += 1
    return scores_by, reasons_by


def _result(v: VariantRun, rows: Sequence[SampleRecord], pricing: Pricing, expected: int,
            is_baseline: bool) -> VariantResult:
    """Samples, latency, memory, cost and step counts of one variant (metrics come later)."""
    ok = [r for r in rows if r.status == "ok"]
    lat = latency_stats([r.latency_s for r in rows if r.status in ("ok", "flagged")])
    computed = sum(r.steps_computed or 0 for r in ok)
    skipped = sum(r.steps_skipped or 0 for r in ok)
    peak = max((r.peak_mem_bytes or 0 for r in rows), default=0)
    # Mean latency, not p50: a bill pays for every image, slow ones included.
    cost = cost_per_image(lat.mean, pricing.usd_per_hour, v.gpus_per_image) if lat else None
    if v.endpoint is not None:  # billed by the provider per image or megapixel, not per GPU-hour
        cost = v.endpoint.cost_per_image_usd
    inert = is_inert(v, len(ok), skipped)
    experts = expert_steps(v, ok)
    checks = tuple(c for c in v.checks if c != INERT_CHECK) + ((INERT_CHECK,) if inert else ()) + tuple(
        inert_expert_check(name) for name, e in experts.items() if e.inert and not inert)
    return VariantResult(
        name=v.name, id=v.id, status=v.status, error=v.error, accelerators=v.accelerators,
        cache=v.cache, is_baseline=is_baseline,
        samples=SampleCounts(expected, len(ok), sum(r.status == "flagged" for r in rows),
                             sum(r.status == "failed" for r in rows)),
        flags=dict(Counter(r.reason or "" for r in rows if r.status == "flagged")),
        latency_s=lat, cold_s=v.cold_s, compile_s=v.compile_s, load_s=v.load_s,
        worker_start_s=v.worker_start_s, peak_memory_mb=round(peak / 2**20, 1) if peak else None,
        gpus_per_image=v.gpus_per_image, cost_per_image_usd=cost,
        cost_per_1000_images_usd=cost * 1000 if cost is not None else None, clip_s=v.clip_s,
        cost_per_video_second_usd=cost / v.clip_s if cost is not None and v.clip_s else None,
        images_per_usd=1.0 / cost if cost else None,
        steps=Steps(computed, skipped, skipped / (computed + skipped) if computed + skipped else None),
        checks=checks, inert=inert, experts=experts, generation=v.generation, group=v.group, sweep=v.sweep,
        endpoint=v.endpoint, model=v.model, calibration=v.calibration)


def _noise_floor(noise: VariantRun, rows: Sequence[SampleRecord], metrics: Mapping[str, MetricInfo],
                 scores_by: Scores, baseline_id: str) -> NoiseFloor:
    return NoiseFloor(
        variant=noise.name, id=noise.id, status=noise.status, seed_offset=noise.seed_offset,
        samples_ok=sum(r.status == "ok" for r in rows),
        metrics={m: noise_entry(info, scores_by.get((noise.id, m), {}), scores_by.get((baseline_id, m), {}))
                 for m, info in metrics.items()})


def build_summary(*, suite: str, baseline: str, variants: Sequence[VariantRun],
                  samples: Sequence[SampleRecord], scores: Sequence[Score], set_scores: Sequence[SetScore],
                  metrics: Mapping[str, MetricInfo], pricing: Pricing,
                  expected_per_variant: int, drift_samples: Sequence[SampleRecord] = ()) -> Summary:
    """Aggregate the run's tables into the summary (schema in docs/SUMMARY.md).

    Args:
        suite: suite name.
        baseline: name of the baseline variant.
        variants: in suite order; the one with role NOISE_ROLE (the reseeded baseline)
            becomes the noise floor, not a variant.
        samples: the suite's sample rows.
        scores: per-image scores.
        set_scores: set-level scores.
        metrics: name -> info.
        pricing: price per GPU-hour.
        expected_per_variant: prompts x seeds.
        drift_samples: the baseline images timed again at the end of the sweep (drift check).
    """
    by_variant: dict[str, list[SampleRecord]] = defaultdict(list)
    for s in samples:
        by_variant[s.variant_id].append(s)
    scores_by, reasons_by = index_scores(scores)
    sets = {(r.variant_id, r.metric): r for r in set_scores}
    real = [v for v in variants if v.role != NOISE_ROLE]
    noise = next((v for v in variants if v.role == NOISE_ROLE), None)
    baseline_id = next((v.id for v in real if v.name == baseline), "")
    noise_floor = (_noise_floor(noise, by_variant.get(noise.id, []), metrics, scores_by, baseline_id)
                   if noise else None)
    floors = {m: e.floor for m, e in noise_floor.metrics.items()} if noise_floor else {}

    out = []
    for v in real:
        is_base = v.name == baseline
        entry = _result(v, by_variant.get(v.id, []), pricing, expected_per_variant, is_base)
        out.append(replace(entry, metrics={
            m: metric_entry(info, scores_by.get((v.id, m), {}), scores_by.get((baseline_id, m), {}),
                            is_baseline=is_base, reasons=reasons_by.get((v.id, m)),
                            set_row=sets.get((v.id, m)), floor=floors.get(m))
            for m, info in metrics.items()}))
    base_lat = next((x.latency_s for x in out if x.is_baseline), None)
    out = [replace(x, speedup_p50=base_lat.p50 / x.latency_s.p50
                   if base_lat and x.latency_s and x.latency_s.p50 > 0 else None) for x in out]
    drift = drift_of(by_variant.get(baseline_id, []), drift_samples)
    out = add_timing(out, {v.id: v for v in real}, by_variant, baseline_id, drift)
    out = mark_energy_front(_mark_pareto(out, metrics), metrics, quality_of)
    telemetry = cache_telemetry(out, metrics)
    notes = cliff_notes(telemetry)
    out = [replace(x, cliffs=notes.get(x.name, ())) for x in out]
    category_of = {(s.prompt_id, s.seed): s.category or "" for s in samples}
    categories = category_breakdown(metrics, [v for v in real if v.name != baseline], scores_by,
                                    category_of, baseline_id, floors)
    return Summary(
        schema_version=SCHEMA_VERSION, suite=suite, baseline=baseline, pricing=pricing,
        metrics=dict(metrics), variants=tuple(out), noise_floor=noise_floor,
        stats=StatsInfo("percentile bootstrap, prompts resampled with all their seeds",
                        bootstrap.LEVEL, bootstrap.N_BOOT, bootstrap.SEED),
        categories=categories, telemetry=telemetry, recommendation=None, drift=drift,
        equal_work=equal_work(out, metrics))


def quality_of(variant: VariantResult, metric: str, info: MetricInfo) -> float:
    """The variant's value of ``metric`` for comparisons (baseline of a paired metric: ideal)."""
    entry = variant.metrics.get(metric)
    if entry is None:
        return math.nan
    if entry.reference and info.kind in ("paired", "set"):
        return info.reference
    return entry.mean if entry.mean is not None else math.nan


def _mark_pareto(variants: Sequence[VariantResult], metrics: Mapping[str, MetricInfo]) -> list[VariantResult]:
    usable = [v for v in variants if v.status == "ok" and v.latency_s]
    axes: dict[str, Callable[[VariantResult], float | None]] = {
        "latency": lambda v: v.latency_s.p50,  # type: ignore[union-attr]
        "cost": lambda v: v.cost_per_image_usd,
        # Clips of different lengths (a variant's own frames or fps) cost per second of video
        # what their price per clip does not show.
        "cost_per_second": lambda v: v.cost_per_video_second_usd}
    fronts = {m: {axis: set(pareto_front([Point(v.name, x(v) or math.inf, quality_of(v, m, info))
                                         for v in usable], info.higher_is_better))
                  for axis, x in axes.items()} for m, info in metrics.items()}
    return [replace(v, pareto={m: ParetoMembership(**{axis: v.name in names for axis, names in front.items()})
                               for m, front in fronts.items()}) for v in variants]


def summary_to_json(summary: Summary) -> dict[str, Any]:
    """summary.json's content: strict JSON (NaN as null, infinities as "inf"/"-inf")."""
    return to_json(summary)


def summary_from_json(data: Any) -> Summary:
    """Read summary.json's parsed content back into the records (any readable version).

    Raises:
        SchemaError: a file that is not a summary (one line, naming the key).
    """
    if not isinstance(data, dict):
        raise SchemaError("expected a JSON object")
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise SchemaError(f"schema_version: {version!r} is not one this version reads "
                          f"({', '.join(map(str, READABLE_VERSIONS))})")
    return from_json(Summary, data)


def load_summary(path: Path) -> Summary:
    """Read a summary.json file into the records.

    Raises:
        SchemaError: one line: the file is missing, not JSON, or not a summary.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaError(f"{path.parent}: no {path.name} (run `evalsuite report` first)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{path}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}: not valid JSON ({exc})") from None
    try:
        return summary_from_json(data)
    except SchemaError as exc:
        raise SchemaError(f"{path}: not a summary: {exc}") from None
