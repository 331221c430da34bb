"""``summary.json``: one entry per variant, built by pure functions over the stored tables.

The schema is documented in docs/SUMMARY.md; bump ``SCHEMA_VERSION`` on breaking changes.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from reports.pareto import Point, pareto_front
from reports.stats import latency_stats, mean_stat

SCHEMA_VERSION = 1


def metric_reference(info: Mapping[str, Any]) -> float:
    """The baseline's own value of a paired metric: its ideal, else +/-inf (a perfect match)."""
    if info.get("ideal") is not None:
        return float(info["ideal"])
    return math.inf if info["higher_is_better"] else -math.inf


def _per_variant_metrics(vid: str, is_baseline: bool, metrics: Mapping[str, Mapping[str, Any]],
                         scores_by: Mapping[tuple[str, str], dict[tuple[str, int], float | None]],
                         reasons_by: Mapping[tuple[str, str], Counter],
                         set_scores: Mapping[tuple[str, str], Mapping[str, Any]],
                         baseline_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m, info in metrics.items():
        if info["kind"] == "set":
            row = set_scores.get((vid, m))
            out[m] = {"mean": None if is_baseline else (row or {}).get("value"),
                      "n_valid": (row or {}).get("n", 0) if row and row.get("value") is not None else 0,
                      "n_failed": 0, "failures": {row["reason"]: 1} if row and row.get("reason") else {},
                      "reference": is_baseline, "delta_vs_baseline": None}
            if is_baseline and info.get("ideal") is not None:
                out[m]["mean"] = info["ideal"]
            continue
        if info["kind"] == "paired" and is_baseline:
            ideal = info.get("ideal")
            out[m] = {"mean": ideal, "n_valid": 0, "n_failed": 0, "failures": {},
                      "reference": True, "delta_vs_baseline": 0.0 if ideal is not None else None}
            continue
        values = scores_by.get((vid, m), {})
        stat = mean_stat(list(values.values()))
        if info["kind"] == "paired":
            ideal = info.get("ideal")
            delta = stat.mean - ideal if stat.mean is not None and ideal is not None else None
        else:  # paired delta: same prompt and seed in both variants
            base = scores_by.get((baseline_id, m), {})
            diffs = [v - base[k] for k, v in values.items() if v is not None and not math.isnan(v)
                     and base.get(k) is not None and not math.isnan(base[k])]
            delta = float(sum(diffs) / len(diffs)) if diffs else None
        out[m] = {"mean": stat.mean, "n_valid": stat.n_valid, "n_failed": stat.n_failed,
                  "failures": dict(reasons_by.get((vid, m), Counter())), "reference": False,
                  "delta_vs_baseline": delta}
    return out


def gpus_per_image(accelerators: Mapping[str, Mapping[str, Any]], default: int) -> int:
    """GPUs that make one image: a context-parallel group's size, else ``[hardware] gpus``."""
    cp = accelerators.get("context_parallel")
    return int(cp.get("ulysses", 1)) * int(cp.get("ring", 1)) if cp else default


def build_summary(*, suite: str, baseline: str, variants: Sequence[Mapping[str, Any]],
                  samples: Sequence[Mapping[str, Any]], scores: Sequence[Mapping[str, Any]],
                  set_scores: Sequence[Mapping[str, Any]],
                  metrics: Mapping[str, Mapping[str, Any]], pricing: Mapping[str, Any],
                  expected_per_variant: int) -> dict[str, Any]:
    """Aggregate the run's tables into the summary.

    Args:
        suite: suite name.
        baseline: name of the baseline variant.
        variants: in suite order, dicts with id, name, status, error, spec, is_cache,
            worker_start_s, load_s, cold_s and checks (list of messages).
        samples: sample rows (variant_id, prompt_id, seed, status, latency_s, ...).
        scores: per-image score rows (variant_id, prompt_id, seed, metric, value, reason).
        set_scores: set-level score rows (variant_id, metric, value, reason, n).
        metrics: name -> {higher_is_better, kind, ideal, identity}.
        pricing: {gpu, usd_per_hour, gpus, source, date}.
        expected_per_variant: prompts x seeds.
    """
    by_variant: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for s in samples:
        by_variant[s["variant_id"]].append(s)
    scores_by: dict[tuple[str, str], dict[tuple[str, int], float | None]] = defaultdict(dict)
    reasons_by: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in scores:
        value = r["value"] if r["value"] is not None else math.nan
        scores_by[(r["variant_id"], r["metric"])][(r["prompt_id"], r["seed"])] = value
        if r.get("reason"):
            reasons_by[(r["variant_id"], r["metric"])][r["reason"]] += 1
    sets = {(r["variant_id"], r["metric"]): r for r in set_scores}
    baseline_id = next((v["id"] for v in variants if v["name"] == baseline), "")
    price = float(pricing["usd_per_hour"])

    out_variants = []
    for v in variants:
        rows = by_variant.get(v["id"], [])
        gpus = gpus_per_image(v.get("spec") or {}, int(pricing["gpus"]))
        ok = [r for r in rows if r["status"] == "ok"]
        lat = latency_stats([r["latency_s"] for r in rows if r["status"] in ("ok", "flagged")])
        computed = sum(r["steps_computed"] or 0 for r in ok)
        skipped = sum(r["steps_skipped"] or 0 for r in ok)
        peak = max((r["peak_mem_bytes"] or 0 for r in rows), default=0)
        cost = lat.mean * price / 3600.0 * gpus if lat else None
        checks = list(v.get("checks") or [])
        inert = bool(v.get("is_cache")) and bool(ok) and skipped == 0
        if inert and not any(c.startswith("inert") for c in checks):
            checks.append("inert: the cache skipped no denoising step in the whole run")
        out_variants.append({
            "name": v["name"], "id": v["id"], "status": v["status"], "error": v.get("error"),
            "accelerators": v.get("spec", {}), "is_baseline": v["name"] == baseline,
            "samples": {"expected": expected_per_variant, "ok": len(ok),
                        "flagged": sum(r["status"] == "flagged" for r in rows),
                        "failed": sum(r["status"] == "failed" for r in rows)},
            "flags": dict(Counter(r["reason"] for r in rows if r["status"] == "flagged")),
            "latency_s": lat._asdict() if lat else None,
            "cold_s": v.get("cold_s"), "load_s": v.get("load_s"),
            "worker_start_s": v.get("worker_start_s"),
            "peak_memory_mb": round(peak / 2**20, 1) if peak else None,
            "gpus_per_image": gpus,
            "cost_per_image_usd": cost,
            "images_per_usd": 1.0 / cost if cost else None,
            "steps": {"computed": computed, "skipped": skipped,
                      "skip_rate": skipped / (computed + skipped) if computed + skipped else None},
            "checks": checks, "inert": inert,
            "metrics": _per_variant_metrics(v["id"], v["name"] == baseline, metrics, scores_by,
                                            reasons_by, sets, baseline_id),
        })
    base = next((x for x in out_variants if x["is_baseline"]), None)
    for x in out_variants:
        bl, xl = (base or {}).get("latency_s"), x["latency_s"]
        x["speedup_p50"] = bl["p50"] / xl["p50"] if bl and xl and xl["p50"] > 0 else None
    _mark_pareto(out_variants, metrics)
    return {"schema_version": SCHEMA_VERSION, "suite": suite, "baseline": baseline,
            "pricing": dict(pricing), "metrics": {k: dict(v) for k, v in metrics.items()},
            "variants": out_variants}


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
