"""Summary sections about caches: the verdict against fewer steps, trace predictions
against measured skip rates, and per-model calibration from the baseline's traces.

Glue only: it gathers the run's records into plain values for the pure functions in
``reports/frontier.py``, ``reports/traces.py`` and ``reports/calibration.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from evalsuite.models.tracing import prediction_params, read_traces
from evalsuite.store.paths import trace_path
from evalsuite.store.schema import SampleStatus, VariantStatus
from evalsuite.suite.overrides import effective_model
from evalsuite.suite.spec import FRONTIER_ROLE, Suite
from reports.calibration import calibrate
from reports.frontier import (
    METHOD,
    FrontierPoint,
    FrontierPointResult,
    StepsFrontier,
    frontier_verdict,
    reference_values,
)
from reports.records import SampleRecord, Score
from reports.summary import index_scores
from reports.summary_records import Summary, VariantResult
from reports.traces import TracePrediction, predict

FRONTIER_RULE = ("round(steps / s) for target speedups s in 1.25, 1.5, 2, 2.5, 3 "
                 "(or the suite's own list)")


def _usable(v: VariantResult) -> bool:
    return v.status == VariantStatus.OK and v.latency_s is not None


def steps_frontier(summary: Summary, suite: Suite, scores: Sequence[Score]) -> Summary:
    """The fewer-steps frontier and each cache variant's ``vs_fewer_steps`` verdict."""
    refs = {v.name: v for v in suite.variants if v.role == FRONTIER_ROLE}
    if not refs:
        return summary
    by_id, _ = index_scores(scores)
    metrics = summary.metrics
    base_spec = suite.baseline_variant
    points: list[FrontierPointResult] = []
    for spec in (base_spec, *refs.values()):
        v = next((x for x in summary.variants if x.name == spec.name), None)
        if v is not None and _usable(v):
            points.append(FrontierPointResult(v.name, effective_model(suite.model, spec).steps,
                                              v.latency_s.p50, v.cost_per_image_usd))  # type: ignore[union-attr]
    ids = {v.name: v.id for v in summary.variants}
    point_values = {p.variant: {m: by_id.get((ids[p.variant], m), {}) for m in metrics} for p in points}
    if suite.baseline in point_values:  # a paired metric's baseline scores its ideal, per image
        keys = {k for (_vid, _m), vals in by_id.items() for k in vals}
        for m, info in metrics.items():
            if info.kind == "paired":
                point_values[suite.baseline][m] = reference_values(info, keys)
    frontier = [FrontierPoint(p.variant, p.steps, p.latency_s) for p in points]
    verdicts = []
    variants = []
    for v in summary.variants:
        if v.name in refs:
            v = replace(v, role=FRONTIER_ROLE)
        elif v.cache is not None and _usable(v):
            verdict = frontier_verdict(v.name, v.latency_s.p50, frontier,  # type: ignore[union-attr]
                                       {m: by_id.get((v.id, m), {}) for m in metrics},
                                       point_values, metrics)
            verdicts.append(verdict)
            v = replace(v, vs_fewer_steps=verdict)
        variants.append(v)
    section = StepsFrontier(METHOD, FRONTIER_RULE, tuple(points), tuple(verdicts))
    return replace(summary, variants=tuple(variants), steps_frontier=section)


def trace_evidence(summary: Summary, suite: Suite, run_dir: Path, samples: Sequence[SampleRecord]) -> Summary:
    """Calibration from the baseline's traces, and each cache's predicted vs measured skip rate.

    The measured skip rate is taken over the same (prompt, seed) images the traces cover.
    """
    base = suite.baseline_variant
    traces = read_traces(trace_path(run_dir, base.name, base.id))
    if not traces:
        return summary
    traced = {(t.prompt_id, t.seed) for t in traces}
    rows: dict[str, list[SampleRecord]] = {}
    for r in samples:
        if (r.prompt_id, r.seed) in traced and r.status == SampleStatus.OK:
            rows.setdefault(r.variant_id, []).append(r)
    variants = []
    for v in summary.variants:
        if v.cache is not None:
            try:
                params = prediction_params(v.cache.accelerator, dict(v.cache.params))
                pred = predict(traces, v.cache.accelerator, params)
            except (KeyError, ValueError):  # no trace model (an attention cache) or a missing signal
                pred = None
            if pred is not None:
                mine = rows.get(v.id, [])
                computed = sum(r.steps_computed or 0 for r in mine)
                skipped = sum(r.steps_skipped or 0 for r in mine)
                measured = skipped / (computed + skipped) if computed + skipped else None
                v = replace(v, trace_prediction=TracePrediction(
                    pred.skip_rate, pred.speedup, measured, pred.n_images, len(mine)))
        variants.append(v)
    return replace(summary, variants=tuple(variants), calibration=calibrate(traces))


def with_cache_evidence(summary: Summary, suite: Suite, run_dir: Path, samples: Sequence[SampleRecord],
                        scores: Sequence[Score]) -> Summary:
    """``summary`` with ``steps_frontier`` and ``calibration`` (and the per-variant fields)."""
    return trace_evidence(steps_frontier(summary, suite, scores), suite, run_dir, samples)
