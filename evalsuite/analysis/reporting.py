"""Glue between the store and the pure ``reports`` package: summary.json, the HTML, exports.

The store reads its rows back as the report's own typed records (reports/records.py); from
then on nothing is a dict until the edges: summary.json, the export tables and the page's data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import prompts as prompt_sets
from evalsuite.accelerators import ACCELERATORS
from evalsuite.analysis.cache_evidence import run_evidence
from evalsuite.analysis.geneval_report import geneval_summary
from evalsuite.errors import UserError
from evalsuite.hardware.prices import PRICES, UNSOURCED, gpu_key_for_device
from evalsuite.models.cp_checks import gpus_per_image
from evalsuite.score.scoring import stored_identity
from evalsuite.store.db import Store
from evalsuite.store.drift_db import retimed_rows
from evalsuite.store.paths import MANIFEST, METRIC_CARD, REPORT, SUMMARY, telemetry_path
from evalsuite.store.records import VariantRecord
from evalsuite.suite.model_spec import own_model_table
from evalsuite.suite.overrides import effective_model
from evalsuite.suite.spec import Suite
from evalsuite.suite.types import Variant
from metrics import SCORERS
from reports.export import sample_table, variant_table, write_table
from reports.jsonio import from_json
from reports.metric_info import MetricInfo
from reports.publish import RunInputs, RunTables, publish, summary_of
from reports.records import (
    CacheUse,
    EndpointStats,
    GpuState,
    Pricing,
    Score,
    SetScore,
    VariantRun,
)
from reports.summary import NOISE_ROLE
from reports.summary_records import Summary


def resolve_pricing(suite: Suite, device_name: str | None) -> Pricing:
    """Price per GPU-hour from the suite, else the default table (by name or device)."""
    hw = suite.hardware
    key = hw.gpu
    if key == "auto":
        key = gpu_key_for_device(device_name or "") or ("cpu-2vcpu" if not device_name else "")
    if hw.price_per_hour is not None:
        return Pricing(key or hw.gpu, hw.price_per_hour, hw.gpus, "suite hardware.price_per_hour")
    if key in UNSOURCED:
        raise UserError(f"{suite.source}: hardware.gpu: {key}: {UNSOURCED[key]}; set hardware.price_per_hour")
    if key not in PRICES:
        raise UserError(f"{suite.source}: hardware.gpu: no default price for {key or device_name!r} "
                        f"(known: {', '.join(PRICES)}); set hardware.price_per_hour")
    p = PRICES[key]
    return Pricing(key, p.usd_per_hour, hw.gpus, p.source, p.date)


def selected_keys(suite: Suite) -> set[tuple[str, int]]:
    """(prompt id, seed) pairs the suite asks for; older rows in the store are left out."""
    try:
        chosen = prompt_sets.resolve_prompts(suite.prompts)
    except prompt_sets.PromptError as exc:
        raise UserError(f"{suite.source}: {exc}") from None
    return {(p.id, seed) for p in chosen for seed in suite.prompts.seeds}


def cache_of(v: Variant) -> CacheUse | None:
    """The variant's step-skipping cache (a suite allows at most one), or None.

    A cache in calibration mode (MagCache's ``calibrate``) skips nothing by design, so it is
    no cache here: neither inert nor part of a skip-rate sweep.
    """
    for a in v.accelerators:
        params = dict(a.params)
        if ACCELERATORS.get(a.name)().skips_steps(params):
            return CacheUse(a.name, params)
    return None


def _telemetry(path: Path) -> dict[str, Any]:
    """The worker's telemetry file of a variant ({} when it has none yet)."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def variant_run(suite: Suite, v: Variant, row: VariantRecord | None, run_dir: Path) -> VariantRun:
    """One suite variant with what the store holds about it (``row``: its variants row, None
    before it is registered).

    From the worker's telemetry file: compile time (torch.compile's own timer, kept apart
    from latency), the energy meter's source (or why nothing was measured) and the GPU state
    at the start and end of the timed images.
    """
    row = row or VariantRecord(v.id, v.name)
    telemetry = _telemetry(telemetry_path(run_dir, v.name, v.id))
    model = effective_model(suite.model, v)
    energy = telemetry.get("energy") or {}
    state = telemetry.get("gpu_state")
    return VariantRun(
        id=v.id, name=v.name, status=row.status, error=row.error,
        accelerators=v.describe(), generation=dict(v.generation), model=own_model_table(v),
        cache=cache_of(v),
        # An endpoint variant uses no local GPU; its provider bills per image or megapixel.
        gpus_per_image=0 if v.endpoint else gpus_per_image(v, suite.hardware.gpus), group=v.group,
        sweep=v.sweep,
        role=NOISE_ROLE if v.seed_offset else None, seed_offset=v.seed_offset,
        worker_start_s=row.worker_start_s, load_s=row.load_s, cold_s=row.cold_s,
        compile_s=telemetry.get("accelerators", {}).get("compile", {}).get("compile_s"),
        checks=row.checks,
        energy_source=energy.get("source"),
        energy_reason=energy.get("reason") or (None if energy else "no energy reading recorded"),
        gpu_state=from_json(GpuState, state) if state else None,
        endpoint=_endpoint_stats(telemetry) if v.endpoint else None,
        calibration={name: record["calibration"] for name, record in telemetry.get("accelerators", {}).items()
                     if isinstance(record, dict) and isinstance(record.get("calibration"), dict)},
        clip_s=model.frames / model.fps if model.frames and model.fps else None)


def _endpoint_stats(telemetry: dict[str, Any]) -> EndpointStats | None:
    """What the endpoint generator measured (queue time, retries, failures, images/minute)."""
    try:
        return from_json(EndpointStats, telemetry["endpoint"])
    except (KeyError, ValueError):  # not generated yet, or an unreadable record
        return None


def metric_infos(suite: Suite, score_rows: Sequence[Score | SetScore]) -> dict[str, MetricInfo]:
    """Each metric of the suite, without building its scorer (no model, no torch: ``export`` stays
    instant): traits from the scorer's class, identity from the stored values (``score_rows``)."""
    return {use.name: MetricInfo.of(SCORERS.get(use.name), stored_identity(use.name, score_rows))
            for use in suite.metrics}


def collect(suite: Suite, run_dir: Path, store: Store) -> RunTables:
    """Read the suite's current variants, prompts and seeds from the store."""
    keys = selected_keys(suite)
    rows = {r.id: r for r in store.variants()}
    variants = tuple(variant_run(suite, v, rows.get(v.id), run_dir) for v in suite.variants)
    ids = {v.id for v in suite.variants}
    score_rows = [r for r in store.scores() if r.variant_id in ids and (r.prompt_id, r.seed) in keys]
    set_rows = [r for r in store.set_scores() if r.variant_id in ids]
    manifest_path = run_dir / MANIFEST
    device_name = None
    if manifest_path.exists():
        device_name = json.loads(manifest_path.read_text()).get("hardware", {}).get("gpu")
    return RunTables(
        variants=variants,
        samples=tuple(r for r in store.samples(sorted(ids)) if (r.prompt_id, r.seed) in keys),
        scores=tuple(score_rows),
        set_scores=tuple(set_rows),
        metrics=metric_infos(suite, [*score_rows, *set_rows]),
        pricing=resolve_pricing(suite, device_name), expected=len(keys),
        drift_samples=tuple(retimed_rows(run_dir, suite.baseline_variant.id)))


def gather(suite: Suite, run_dir: Path, store: Store, tables: RunTables | None = None) -> RunInputs:
    """Everything the summary is built from: the store's tables and the run folder's evidence."""
    t = tables or collect(suite, run_dir, store)
    return RunInputs(suite.name, suite.baseline, suite.baseline_variant.id, t,
                     run_evidence(suite, run_dir, t.variants))


def summarize(suite: Suite, run_dir: Path, store: Store, tables: RunTables | None = None) -> Summary:
    """Build the summary (with the suite's own recommendation, if it sets budgets): everything
    it needs gathered first, then one call into ``reports``."""
    return summary_of(gather(suite, run_dir, store, tables))


def write_reports(suite: Suite, run_dir: Path, store: Store) -> Summary:
    """Write summary.json and report/ (index.html, plotly.js, thumbnails); return the summary.

    Everything the page needs is gathered from the store and the run folder first; then one
    call into the ``reports`` leaf builds and writes it (:func:`reports.publish.publish`).
    """
    inputs = gather(suite, run_dir, store)
    card = _metric_card(run_dir)
    geneval = geneval_summary(inputs.tables.variants, inputs.tables.samples, inputs.tables.scores)
    return publish(inputs, run_dir, run_dir / SUMMARY, run_dir / REPORT, card=card, geneval=geneval)


def _metric_card(run_dir: Path) -> dict[str, Any] | None:
    """``metric_card.json`` if ``evalsuite metric-card`` wrote one (an unreadable one is skipped)."""
    path = run_dir / METRIC_CARD
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


def export_run(suite: Suite, run_dir: Path, store: Store, fmt: str, out_dir: Path) -> list[Path]:
    """Write samples.<fmt> (one row per image) and variants.<fmt> (one row per variant)."""
    tables = collect(suite, run_dir, store)
    summary = summarize(suite, run_dir, store, tables)
    per_image = [m for m, i in tables.metrics.items() if i.kind != "set"]
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        return [write_table(sample_table(tables.samples, tables.scores, tables.variants, per_image),
                            out_dir / "samples", fmt),
                write_table(variant_table(summary), out_dir / "variants", fmt)]
    except ImportError as exc:
        raise UserError(f"export --format {fmt} needs pyarrow: pip install pyarrow ({exc})") from None
