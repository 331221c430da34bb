"""A run's reports written in one pass: the summary, ``summary.json``, the gallery's
thumbnails and the page, from what ``evalsuite.analysis.reporting`` gathered beforehand.

The caller gathers everything first (store tables, the run folder's traces, the metric
card, GenEval's task summary); nothing here reads the store or calls back into evalsuite.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.evidence import RunEvidence, run_summary
from reports.files import write_atomic
from reports.gallery import gallery_rows, write_thumbnails
from reports.metric_info import MetricInfo
from reports.records import Pricing, SampleRecord, Score, SetScore, VariantRun
from reports.summary import index_scores, summary_to_json
from reports.summary_records import Summary


@dataclass(frozen=True)
class RunTables:
    """What the summary, gallery and export read from the store, for the suite's variants."""

    variants: tuple[VariantRun, ...]  # suite order, the noise-floor variant last
    samples: tuple[SampleRecord, ...]
    scores: tuple[Score, ...]
    set_scores: tuple[SetScore, ...]
    metrics: dict[str, MetricInfo]
    pricing: Pricing
    expected: int  # prompts x seeds
    drift_samples: tuple[SampleRecord, ...] = ()  # the baseline images timed again at the sweep's end


@dataclass(frozen=True)
class RunInputs:
    """Everything a run's summary is built from, gathered from the store and the run folder."""

    suite: str
    baseline: str  # the baseline variant's name
    baseline_id: str
    tables: RunTables
    evidence: RunEvidence


def summary_of(inputs: RunInputs) -> Summary:
    """The run's summary, with every section the evidence adds (the recommendation included)."""
    t = inputs.tables
    return run_summary(
        suite=inputs.suite, baseline=inputs.baseline, variants=t.variants, samples=t.samples,
        scores=t.scores, set_scores=t.set_scores, metrics=t.metrics, pricing=t.pricing,
        expected_per_variant=t.expected, drift_samples=t.drift_samples, evidence=inputs.evidence)


def write_summary(path: Path, summary: Summary) -> Path:
    """Write ``summary.json`` atomically (strict JSON)."""
    return write_atomic(path, json.dumps(summary_to_json(summary), indent=2, allow_nan=False))


def publish(inputs: RunInputs, run_dir: Path, summary_path: Path, report_dir: Path,
            card: Mapping[str, Any] | None = None, geneval: Mapping[str, Any] | None = None) -> Summary:
    """Build the summary and write ``summary_path`` and ``report_dir`` (index.html, plotly.js,
    thumbnails of the images under ``run_dir``); return the summary.

    Every file is written atomically, and a report folder left broken by a killed run (e.g.
    an empty plotly.min.js) is repaired.
    """
    from reports.html import render_report  # jinja2 and plotly: only the page needs them, not export

    summary = summary_of(inputs)
    write_summary(summary_path, summary)
    t = inputs.tables
    scores_by, _ = index_scores(t.scores)
    rows = gallery_rows(t.samples, scores_by, t.metrics, t.variants, inputs.baseline_id)
    write_thumbnails(run_dir, report_dir, rows)
    render_report(summary, report_dir, gallery=rows, card=card, geneval=geneval)
    return summary
