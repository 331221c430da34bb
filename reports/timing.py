"""Per-variant timing evidence for the summary: speedup CIs, the drift check, energy, GPU state.

Kept apart from reports/summary.py so the summary stays an assembly of parts: this module
turns each variant's per-image latencies and joules into its ``speedup`` (CI and verdict,
read against the sweep's drift), ``energy`` (J and Wh per 1000 images with CIs) and
``gpu_state`` (throttling flagged in its checks), and the run's ``drift``. Pure functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from reports.bootstrap import Key
from reports.energy import energy_entry
from reports.metric_info import MetricInfo
from reports.pareto import Point, pareto_front
from reports.records import SampleRecord, VariantRun
from reports.speedup import drift_record, speedup_entry
from reports.summary_records import Drift, ParetoMembership, VariantResult

TIMED = ("ok", "flagged")  # statuses whose latency is a real generation time


def latencies(rows: Sequence[SampleRecord]) -> dict[Key, float | None]:
    """(prompt, seed) -> seconds of every timed image."""
    return {(r.prompt_id, r.seed): r.latency_s for r in rows if r.status in TIMED}


def drift_of(baseline_rows: Sequence[SampleRecord], drift_rows: Sequence[SampleRecord]) -> Drift | None:
    """The drift check, when the sweep timed baseline images again (None: it did not)."""
    end = latencies(drift_rows)
    if not end:
        return None
    start = {k: v for k, v in latencies(baseline_rows).items() if k in end}
    return drift_record(start, end)


def add_timing(results: Sequence[VariantResult], runs: Mapping[str, VariantRun],
               rows: Mapping[str, Sequence[SampleRecord]], baseline_id: str,
               drift: Drift | None) -> list[VariantResult]:
    """Each result with its speedup, energy and GPU state (throttling added to its checks).

    Args:
        results: the variants' summary entries, in suite order.
        runs: variant id -> what the store and telemetry say about the variant.
        rows: variant id -> its sample rows.
        baseline_id: the baseline's variant id.
        drift: the run's drift check, whose bound caps the speedups it can explain.
    """
    base = latencies(rows.get(baseline_id, ()))
    floor = drift.floor if drift is not None else None
    out = []
    for r in results:
        v, own = runs[r.id], rows.get(r.id, ())
        joules = {(s.prompt_id, s.seed): s.energy_j for s in own if s.status in TIMED}
        flags = v.gpu_state.flags if v.gpu_state else ()
        out.append(replace(
            r, speedup=speedup_entry(latencies(own), base, is_baseline=r.is_baseline, drift_floor=floor),
            energy=energy_entry(joules, v.energy_source, v.energy_reason), gpu_state=v.gpu_state,
            checks=r.checks + tuple(f for f in flags if f not in r.checks)))
    return out


def mark_energy_front(results: Sequence[VariantResult],
                      metrics: Mapping[str, MetricInfo],
                      quality: Callable[[VariantResult, str, MetricInfo], float]) -> list[VariantResult]:
    """Set ``pareto[m].energy``: on the front of quality against joules per image."""
    usable = [v for v in results if v.status == "ok" and v.energy and v.energy.j_per_image is not None]
    fronts = {m: set(pareto_front([Point(v.name, v.energy.j_per_image or math.inf,  # type: ignore[union-attr]
                                         quality(v, m, info)) for v in usable], info.higher_is_better))
              for m, info in metrics.items()}
    return [replace(v, pareto={m: replace(v.pareto.get(m, ParetoMembership(False, False)),
                                          energy=v.name in fronts[m]) for m in metrics})
            for v in results]
