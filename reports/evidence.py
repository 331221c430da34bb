"""The whole summary in one call: the stored tables, then what else a run knows.

``evalsuite/analysis`` gathers everything first (the tables, and a :class:`RunEvidence`:
the fewer-steps reference points, the baseline's decision traces with each cache's
prediction parameters, the suite's budgets) and calls :func:`run_summary` once. The
sections built here from that evidence:

* ``steps_frontier``: the baseline at fewer steps as a speed/quality frontier, and each
  cache variant's verdict against it (``reports/frontier.py``);
* ``calibration`` and each cache's ``trace_prediction``: skip rates predicted from the
  traces against the measured ones (``reports/traces.py``, ``reports/calibration.py``);
* ``recommendation``: the fastest (or cheapest) variant within the budgets.

Pure functions; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reports.bootstrap import Key
from reports.calibration import calibrate
from reports.frontier import (
    FRONTIER_ROLE,
    METHOD,
    FrontierPoint,
    FrontierPointResult,
    StepsFrontier,
    frontier_verdict,
    reference_values,
)
from reports.recommend import budgets_recommendation
from reports.records import Budget, SampleRecord
from reports.summary import build_summary, index_scores
from reports.summary_records import Summary, VariantResult
from reports.traces import ImageTrace, TracePrediction, predict

FRONTIER_RULE = ("round(steps / s) for target speedups s in 1.25, 1.5, 2, 2.5, 3 "
                 "(or the suite's own list)")


@dataclass(frozen=True)
class RunEvidence:
    """What the summary needs besides the stored tables."""

    # (variant name, steps): the baseline first, then the fewer-steps references; () for none.
    frontier: tuple[tuple[str, int], ...] = ()
    traces: tuple[ImageTrace, ...] = ()  # the baseline's decision traces
    # Per cache variant id, its parameters as ``reports.traces.predict`` needs them (a cache
    # with no trace model is left out).
    trace_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    budgets: tuple[Budget, ...] = ()
    objective: str = "latency"  # or "cost"


def run_summary(*, evidence: RunEvidence, **tables: Any) -> Summary:
    """The summary of the tables (:func:`reports.summary.build_summary`'s keywords) with every
    section the evidence adds, the recommendation included."""
    summary = build_summary(**tables)
    by_id, _ = index_scores(tables["scores"])
    summary = steps_frontier(summary, evidence.frontier, by_id)
    summary = trace_evidence(summary, evidence.traces, evidence.trace_params, tables["samples"])
    return replace(summary, recommendation=budgets_recommendation(summary, evidence.budgets,
                                                                  evidence.objective))


def _usable(v: VariantResult) -> bool:
    return v.status == "ok" and v.latency_s is not None


def steps_frontier(summary: Summary, frontier: Sequence[tuple[str, int]],
                   by_id: Mapping[tuple[str, str], Mapping[Key, float]]) -> Summary:
    """The fewer-steps frontier and each cache variant's ``vs_fewer_steps`` verdict.

    Args:
        summary: the summary so far.
        frontier: (name, steps) of the baseline, then of the fewer-steps references.
        by_id: per (variant id, metric), the valid per-image values.
    """
    if len(frontier) < 2:
        return summary
    (baseline, _), refs = frontier[0], {name for name, _ in frontier[1:]}
    metrics = summary.metrics
    by_name = {v.name: v for v in summary.variants}
    points = [FrontierPointResult(name, steps, v.latency_s.p50, v.cost_per_image_usd)  # type: ignore[union-attr]
              for name, steps in frontier if (v := by_name.get(name)) is not None and _usable(v)]
    ids = {v.name: v.id for v in summary.variants}
    point_values = {p.variant: {m: by_id.get((ids[p.variant], m), {}) for m in metrics} for p in points}
    if baseline in point_values:  # a paired metric's baseline scores its ideal, per image
        keys = {k for vals in by_id.values() for k in vals}
        for m, info in metrics.items():
            if info.kind == "paired":
                point_values[baseline][m] = reference_values(info, keys)
    curve = [FrontierPoint(p.variant, p.steps, p.latency_s) for p in points]
    verdicts = []
    variants = []
    for v in summary.variants:
        if v.name in refs:
            v = replace(v, role=FRONTIER_ROLE)
        elif v.cache is not None and _usable(v):
            verdict = frontier_verdict(v.name, v.latency_s.p50, curve,  # type: ignore[union-attr]
                                       {m: by_id.get((v.id, m), {}) for m in metrics},
                                       point_values, metrics)
            verdicts.append(verdict)
            v = replace(v, vs_fewer_steps=verdict)
        variants.append(v)
    section = StepsFrontier(METHOD, FRONTIER_RULE, tuple(points), tuple(verdicts))
    return replace(summary, variants=tuple(variants), steps_frontier=section)


def trace_evidence(summary: Summary, traces: Sequence[ImageTrace],
                   params: Mapping[str, Mapping[str, Any]], samples: Sequence[SampleRecord]) -> Summary:
    """Calibration from the baseline's traces, and each cache's predicted vs measured skip rate.

    The measured skip rate is taken over the same (prompt, seed) images the traces cover.
    """
    if not traces:
        return summary
    traced = {(t.prompt_id, t.seed) for t in traces}
    rows: dict[str, list[SampleRecord]] = {}
    for r in samples:
        if (r.prompt_id, r.seed) in traced and r.status == "ok":
            rows.setdefault(r.variant_id, []).append(r)
    variants = []
    for v in summary.variants:
        if v.cache is not None and v.id in params:
            try:
                pred = predict(traces, v.cache.accelerator, params[v.id])
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
