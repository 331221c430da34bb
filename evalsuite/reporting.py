"""Glue between the store and the pure ``reports`` package: summary.json, the HTML, exports."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import prompts as prompt_sets
from evalsuite.accelerators import ACCELERATORS
from evalsuite.errors import UserError
from evalsuite.prices import PRICES, gpu_key_for_device
from evalsuite.scoring import build_scorer, scorer_identity
from evalsuite.spec import Suite, Variant
from evalsuite.store import Store, telemetry_path
from reports.export import sample_table, variant_table, write_table
from reports.gallery import gallery_rows, write_thumbnails
from reports.html import render_report
from reports.recommend import Budget, BudgetError, recommend
from reports.summary import NOISE_ROLE, build_summary, index_scores


def resolve_pricing(suite: Suite, device_name: str | None) -> dict[str, Any]:
    """Price per GPU-hour from the suite, else the default table (by name or device)."""
    hw = suite.hardware
    key = hw.gpu
    if key == "auto":
        key = gpu_key_for_device(device_name or "") or ("cpu-2vcpu" if not device_name else "")
    if hw.price_per_hour is not None:
        return {"gpu": key or hw.gpu, "usd_per_hour": hw.price_per_hour, "gpus": hw.gpus,
                "source": "suite hardware.price_per_hour", "date": None}
    if key not in PRICES:
        raise UserError(f"{suite.source}: hardware.gpu: no default price for {key or device_name!r} "
                        f"(known: {', '.join(PRICES)}); set hardware.price_per_hour")
    p = PRICES[key]
    return {"gpu": key, "usd_per_hour": p.usd_per_hour, "gpus": hw.gpus, "source": p.source,
            "date": p.date}


def _json_safe(obj: Any) -> Any:
    """Strict JSON has no NaN/inf: write them as null (NaN) or a string (inf)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    return obj


def selected_keys(suite: Suite) -> set[tuple[str, int]]:
    """(prompt id, seed) pairs the suite asks for; older rows in the store are left out."""
    try:
        chosen = prompt_sets.resolve_prompts(suite.prompts)
    except prompt_sets.PromptError as exc:
        raise UserError(f"{suite.source}: {exc}") from None
    return {(p.id, seed) for p in chosen for seed in suite.prompts.seeds}


@dataclass
class RunTables:
    """What the summary, gallery and export read from the store, for the suite's variants."""

    variants: list[dict[str, Any]]  # suite order, the noise-floor variant last
    samples: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    set_scores: list[dict[str, Any]]
    metrics: dict[str, dict[str, Any]]
    pricing: dict[str, Any]
    expected: int  # prompts x seeds


def _cache_of(v: Variant) -> dict[str, Any] | None:
    for a in v.accelerators:
        if ACCELERATORS.get(a.name).family == "cache":
            return {"accelerator": a.name, "params": dict(a.params)}
    return None


def _compile_seconds(path: Path) -> float | None:
    """Compile time the worker measured (torch.compile's own timer), kept apart from latency."""
    try:
        telemetry = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return telemetry.get("accelerators", {}).get("compile", {}).get("compile_s")


def collect(suite: Suite, run_dir: Path, store: Store) -> RunTables:
    """Read the suite's current variants, prompts and seeds from the store."""
    keys = selected_keys(suite)
    in_suite = lambda r: (r["prompt_id"], r["seed"]) in keys  # noqa: E731
    rows = {v["id"]: v for v in store.variants()}
    variants = []
    for v in suite.variants:
        row = rows.get(v.id, {"status": "pending", "error": None})
        variants.append({
            "id": v.id, "name": v.name, "status": row["status"], "error": row.get("error"),
            "spec": v.describe(), "cache": _cache_of(v), "is_cache": _cache_of(v) is not None,
            "role": NOISE_ROLE if v.seed_offset else None, "seed_offset": v.seed_offset,
            "worker_start_s": row.get("worker_start_s"), "load_s": row.get("load_s"),
            "cold_s": row.get("cold_s"), "checks": json.loads(row.get("checks") or "[]"),
            "compile_s": _compile_seconds(telemetry_path(run_dir, v.name, v.id)),
        })
    ids = [v.id for v in suite.variants]
    metrics = {}
    for use in suite.metrics:
        scorer = build_scorer(use, "cpu")
        metrics[use.name] = {"higher_is_better": scorer.higher_is_better, "kind": str(scorer.kind),
                             "ideal": scorer.ideal, "identity": scorer_identity(scorer)}
    manifest_path = run_dir / "manifest.json"
    device_name = None
    if manifest_path.exists():
        device_name = json.loads(manifest_path.read_text()).get("hardware", {}).get("gpu")
    return RunTables(
        variants=variants, samples=[r for r in store.samples(ids) if in_suite(r)],
        scores=[r for r in store.scores() if r["variant_id"] in ids and in_suite(r)],
        set_scores=[r for r in store.set_scores() if r["variant_id"] in ids],
        metrics=metrics, pricing=resolve_pricing(suite, device_name), expected=len(keys))


def summarize(suite: Suite, run_dir: Path, store: Store, tables: RunTables | None = None) -> dict[str, Any]:
    """Build the summary (with the suite's own recommendation, if it sets budgets)."""
    t = tables or collect(suite, run_dir, store)
    summary = build_summary(
        suite=suite.name, baseline=suite.baseline, variants=t.variants, samples=t.samples,
        scores=t.scores, set_scores=t.set_scores, metrics=t.metrics, pricing=t.pricing,
        expected_per_variant=t.expected)
    if suite.report.budgets:
        budgets = [Budget(b.metric, b.kind, b.value) for b in suite.report.budgets]  # type: ignore[arg-type]
        try:
            rec = recommend(summary, budgets, suite.report.objective)  # type: ignore[arg-type]
            summary["recommendation"] = rec.to_dict()
        except BudgetError as exc:  # e.g. a metric whose scorer failed for every image
            summary["recommendation"] = {"variant": None, "reason": str(exc), "budgets": [
                b.describe() for b in budgets], "objective": suite.report.objective, "rejected": [],
                "bound": "ci", "objective_value": None}
    return summary


def _gallery(suite: Suite, t: RunTables) -> list[dict[str, Any]]:
    scores_by, _ = index_scores(t.scores)
    baseline_id = next(v["id"] for v in t.variants if v["name"] == suite.baseline)
    return gallery_rows(t.samples, scores_by, t.metrics, t.variants, baseline_id)


def write_reports(suite: Suite, run_dir: Path, store: Store,
                  recommendation: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write summary.json and report/index.html (with gallery thumbnails); return the summary."""
    tables = collect(suite, run_dir, store)
    summary = summarize(suite, run_dir, store, tables)
    if recommendation is not None:
        summary["recommendation"] = recommendation
    tmp = run_dir / "summary.json.tmp"
    tmp.write_text(json.dumps(_json_safe(summary), indent=2, allow_nan=False))
    tmp.replace(run_dir / "summary.json")
    rows = _gallery(suite, tables)
    write_thumbnails(run_dir, run_dir / "report", rows)
    render_report(summary, run_dir / "report", gallery=rows)
    return summary


def export_run(suite: Suite, run_dir: Path, store: Store, fmt: str, out_dir: Path) -> list[Path]:
    """Write samples.<fmt> (one row per image) and variants.<fmt> (one row per variant)."""
    tables = collect(suite, run_dir, store)
    summary = summarize(suite, run_dir, store, tables)
    per_image = [m for m, i in tables.metrics.items() if i["kind"] != "set"]
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        return [write_table(sample_table(tables.samples, tables.scores, tables.variants, per_image),
                            out_dir / "samples", fmt),
                write_table(variant_table(summary), out_dir / "variants", fmt)]
    except ImportError as exc:
        raise UserError(f"export --format {fmt} needs pyarrow: pip install pyarrow ({exc})") from None
