"""Glue between the store and the pure ``reports`` package: summary.json and the HTML."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import prompts as prompt_sets
from evalsuite.accelerators import ACCELERATORS
from evalsuite.errors import UserError
from evalsuite.prices import PRICES, gpu_key_for_device
from evalsuite.scoring import build_scorer
from evalsuite.spec import Suite
from evalsuite.store import Store
from reports.html import render_report
from reports.summary import build_summary


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


def summarize(suite: Suite, run_dir: Path, store: Store) -> dict[str, Any]:
    """Build the summary of the suite's current variants, prompts and seeds from the store."""
    keys = selected_keys(suite)
    in_suite = lambda r: (r["prompt_id"], r["seed"]) in keys  # noqa: E731
    rows = {v["id"]: v for v in store.variants()}
    variants = []
    for v in suite.variants:
        row = rows.get(v.id, {"status": "pending", "error": None})
        variants.append({
            "id": v.id, "name": v.name, "status": row["status"], "error": row.get("error"),
            "spec": v.describe(),
            "is_cache": any(ACCELERATORS.get(a.name).family == "cache" for a in v.accelerators),
            "worker_start_s": row.get("worker_start_s"), "load_s": row.get("load_s"),
            "cold_s": row.get("cold_s"), "checks": json.loads(row.get("checks") or "[]"),
        })
    ids = [v.id for v in suite.variants]
    metrics = {}
    for use in suite.metrics:
        scorer = build_scorer(use, "cpu")
        metrics[use.name] = {"higher_is_better": scorer.higher_is_better, "kind": str(scorer.kind),
                             "ideal": scorer.ideal, "identity": scorer.identity()}
    manifest_path = run_dir / "manifest.json"
    device_name = None
    if manifest_path.exists():
        device_name = json.loads(manifest_path.read_text()).get("hardware", {}).get("gpu")
    return build_summary(
        suite=suite.name, baseline=suite.baseline, variants=variants,
        samples=[r for r in store.samples(ids) if in_suite(r)],
        scores=[r for r in store.scores() if r["variant_id"] in ids and in_suite(r)],
        set_scores=[r for r in store.set_scores() if r["variant_id"] in ids],
        metrics=metrics, pricing=resolve_pricing(suite, device_name),
        expected_per_variant=len(keys),
    )


def write_reports(suite: Suite, run_dir: Path, store: Store,
                  recommendation: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write summary.json and report/index.html; return the summary."""
    summary = summarize(suite, run_dir, store)
    tmp = run_dir / "summary.json.tmp"
    tmp.write_text(json.dumps(_json_safe(summary), indent=2, allow_nan=False))
    tmp.replace(run_dir / "summary.json")
    render_report(summary, run_dir / "report", recommendation)
    return summary
