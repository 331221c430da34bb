"""``summary.json``: one entry per variant, built by pure functions over the stored tables.

The schema is documented in docs/SUMMARY.md; bump ``SCHEMA_VERSION`` on breaking changes.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from reports import bootstrap
from reports.categories import category_breakdown
from reports.metric_stats import metric_entry, noise_entry
from reports.pareto import Point, pareto_front
from reports.stats import latency_stats
from reports.telemetry import cache_telemetry, cliff_notes

SCHEMA_VERSION = 2
NOISE_ROLE = "noise_floor"  # the baseline again with other seeds, stored under the same keys

Scores = dict[tuple[str, str], dict[tuple[str, int], float | None]]


def metric_reference(info: Mapping[str, Any]) -> float:
    """The baseline's own value of a paired metric: its ideal, else +/-inf (a perfect match)."""
    if info.get("ideal") is not None:
        return float(info["ideal"])
    return math.inf if info["higher_is_better"] else -math.inf


def gpus_per_image(accelerators: Mapping[str, Mapping[str, Any]], default: int) -> int:
    """GPUs that make one image: a context-parallel group's size, else ``[hardware] gpus``."""
    cp = accelerators.get("context_parallel")
    return int(cp.get("ulysses", 1)) * int(cp.get("ring", 1)) if cp else default


def index_scores(scores: Sequence[Mapping[str, Any]]) -> tuple[Scores, dict[tuple[str, str], Counter]]:
    """(variant id, metric) -> {(prompt, seed): value (NaN if failed)}, and -> failure reasons."""
    scores_by: Scores = defaultdict(dict)
    reasons_by: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in scores:
        value = r["value"] if r["value"] is not None else math.nan
        scores_by[(r["variant_id"], r["metric"])][(r["prompt_id"], r["seed"])] = value
        if r.get("reason"):
            reasons_by[(r["variant_id"], r["metric"])][r["reason"]] += 1
    return scores_by, reasons_by


def _timing(v: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], pricing: Mapping[str, Any],
            expected: int) -> dict[str, Any]:
    """Samples, latency, memory, cost and cache telemetry of one variant."""
    gpus = gpus_per_image(v.get("spec") or {}, int(pricing["gpus"]))
    ok = [r for r in rows if r["status"] == "ok"]
    lat = latency_stats([r["latency_s"] for r in rows if r["status"] in ("ok", "flagged")])
    computed = sum(r["steps_computed"] or 0 for r in ok)
    skipped = sum(r["steps_skipped"] or 0 for r in ok)
    peak = max((r["peak_mem_bytes"] or 0 for r in rows), default=0)
    # Mean latency, not p50: a bill pays for every image, slow ones included.
    cost = lat.mean * float(pricing["usd_per_hour"]) / 3600.0 * gpus if lat else None
    checks = list(v.get("checks") or [])
    inert = bool(v.get("is_cache")) and bool(ok) and skipped == 0
    if inert and not any(c.startswith("inert") for c in checks):
        checks.append("inert: the cache skipped no denoising step in the whole run")
    return {
        "samples": {"expected": expected, "ok": len(ok),
                    "flagged": sum(r["status"] == "flagged" for r in rows),
                    "failed": sum(r["status"] == "failed" for r in rows)},
        "flags": dict(Counter(r["reason"] for r in rows if r["status"] == "flagged")),
        "latency_s": lat._asdict() if lat else None,
        "cold_s": v.get("cold_s"), "compile_s": v.get("compile_s"), "load_s": v.get("load_s"),
        "worker_start_s": v.get("worker_start_s"),
        "peak_memory_mb": round(peak / 2**20, 1) if peak else None,
        "gpus_per_image": gpus, "cost_per_image_usd": cost,
        "cost_per_1000_images_usd": cost * 1000 if cost is not None else None,
        "images_per_usd": 1.0 / cost if cost else None,
        "steps": {"computed": computed, "skipped": skipped,
                  "skip_rate": skipped / (computed + skipped) if computed + skipped else None},
        "checks": checks, "inert": inert,
    }


def _noise_summary(noise: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                   metrics: Mapping[str, Mapping[str, Any]], scores_by: Scores,
                   baseline_id: str) -> dict[str, Any]:
    return {
        "variant": noise["name"], "id": noise["id"], "status": noise["status"],
        "seed_offset": noise.get("seed_offset"),
        "samples_ok": sum(r["status"] == "ok" for r in rows),
        "metrics": {m: noise_entry(info, scores_by.get((noise["id"], m), {}),
                                   scores_by.get((baseline_id, m), {})) for m, info in metrics.items()},
    }


def build_summary(*, suite: str, baseline: str, variants: Sequence[Mapping[str, Any]],
                  samples: Sequence[Mapping[str, Any]], scores: Sequence[Mapping[str, Any]],
                  set_scores: Sequence[Mapping[str, Any]],
                  metrics: Mapping[str, Mapping[str, Any]], pricing: Mapping[str, Any],
                  expected_per_variant: int) -> dict[str, Any]:
    """Aggregate the run's tables into the summary (schema in docs/SUMMARY.md).

    Args:
        suite: suite name.
        baseline: name of the baseline variant.
        variants: in suite order, dicts with id, name, status, error, spec, is_cache,
            worker_start_s, load_s, cold_s, checks (list of messages), and optionally
            cache ({"accelerator", "params"} of its cache accelerator), role
            (``"noise_floor"`` for the reseeded baseline) and seed_offset.
        samples: sample rows (variant_id, prompt_id, seed, status, latency_s, category, ...).
        scores: per-image score rows (variant_id, prompt_id, seed, metric, value, reason).
        set_scores: set-level score rows (variant_id, metric, value, reason, n).
        metrics: name -> {higher_is_better, kind, ideal, identity}.
        pricing: {gpu, usd_per_hour, gpus, source, date}.
        expected_per_variant: prompts x seeds.
    """
    by_variant: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for s in samples:
        by_variant[s["variant_id"]].append(s)
    scores_by, reasons_by = index_scores(scores)
    sets = {(r["variant_id"], r["metric"]): r for r in set_scores}
    real = [v for v in variants if v.get("role") != NOISE_ROLE]
    noise = next((v for v in variants if v.get("role") == NOISE_ROLE), None)
    baseline_id = next((v["id"] for v in real if v["name"] == baseline), "")
    noise_floor = (_noise_summary(noise, by_variant.get(noise["id"], []), metrics, scores_by, baseline_id)
                   if noise else None)
    floors = {m: e["floor"] for m, e in noise_floor["metrics"].items()} if noise_floor else {}

    out_variants = []
    for v in real:
        is_base = v["name"] == baseline
        entry = {"name": v["name"], "id": v["id"], "status": v["status"], "error": v.get("error"),
                 "accelerators": v.get("spec", {}), "cache": v.get("cache"), "is_baseline": is_base}
        entry.update(_timing(v, by_variant.get(v["id"], []), pricing, expected_per_variant))
        entry["metrics"] = {m: metric_entry(info, scores_by.get((v["id"], m), {}),
                                            scores_by.get((baseline_id, m), {}), is_baseline=is_base,
                                            reasons=reasons_by.get((v["id"], m)),
                                            set_row=sets.get((v["id"], m)), floor=floors.get(m))
                            for m, info in metrics.items()}
        out_variants.append(entry)
    base = next((x for x in out_variants if x["is_baseline"]), None)
    for x in out_variants:
        bl, xl = (base or {}).get("latency_s"), x["latency_s"]
        x["speedup_p50"] = bl["p50"] / xl["p50"] if bl and xl and xl["p50"] > 0 else None
    _mark_pareto(out_variants, metrics)
    telemetry = cache_telemetry(out_variants, metrics)
    for x in out_variants:
        x["cliffs"] = cliff_notes(telemetry).get(x["name"], [])
    category_of = {(s["prompt_id"], s["seed"]): s.get("category") or "" for s in samples}
    categories = category_breakdown(metrics, [v for v in real if v["name"] != baseline], scores_by,
                                    category_of, baseline_id, floors)
    return {"schema_version": SCHEMA_VERSION, "suite": suite, "baseline": baseline,
            "pricing": dict(pricing), "metrics": {k: dict(v) for k, v in metrics.items()},
            "stats": {"method": "percentile bootstrap, prompts resampled with all their seeds",
                      "level": bootstrap.LEVEL, "n_boot": bootstrap.N_BOOT, "seed": bootstrap.SEED},
            "variants": out_variants, "noise_floor": noise_floor, "categories": categories,
            "telemetry": telemetry, "recommendation": None}


def quality_of(variant: Mapping[str, Any], metric: str, info: Mapping[str, Any]) -> float:
    """The variant's value of ``metric`` for comparisons (baseline of a paired metric: ideal)."""
    entry = variant["metrics"].get(metric, {})
    if entry.get("reference") and info["kind"] in ("paired", "set"):
        return metric_reference(info)
    return entry["mean"] if entry.get("mean") is not None else math.nan


def _mark_pareto(variants: list[dict[str, Any]], metrics: Mapping[str, Mapping[str, Any]]) -> None:
    usable = [v for v in variants if v["status"] == "ok" and v["latency_s"]]
    for v in variants:
        v["pareto"] = {}
    for m, info in metrics.items():
        hib = bool(info["higher_is_better"])
        by_latency = pareto_front([Point(v["name"], v["latency_s"]["p50"], quality_of(v, m, info))
                                   for v in usable], hib)
        by_cost = pareto_front([Point(v["name"], v["cost_per_image_usd"] or math.inf,
                                      quality_of(v, m, info)) for v in usable], hib)
        for v in variants:
            v["pareto"][m] = {"latency": v["name"] in by_latency, "cost": v["name"] in by_cost}
