"""Flat tables for ``evalsuite export``: one row per sample and one row per variant.

Building the rows is pure; :func:`write_table` writes CSV or JSON with the standard
library and Parquet through pyarrow (imported only then). Failed values are empty cells
(CSV) or null (JSON, Parquet), never 0; infinities (PSNR of identical images) stay inf in
CSV and Parquet and become the string "inf" in JSON, which has no infinity.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

FORMATS = ("csv", "parquet", "json")


class Table(NamedTuple):
    """Column names (in order) and rows keyed by them."""

    columns: list[str]
    rows: list[dict[str, Any]]


SAMPLE_COLUMNS = ["variant", "variant_id", "role", "prompt_id", "seed", "set_name", "category", "prompt",
                  "status", "reason", "latency_s", "peak_mem_bytes", "steps_computed", "steps_skipped",
                  "image"]


def sample_table(samples: Sequence[Mapping[str, Any]], scores: Sequence[Mapping[str, Any]],
                 variants: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> Table:
    """Per-sample rows with one value column and one reason column per metric.

    Args:
        samples: store sample rows joined with prompts (text, set_name, category).
        scores: per-image score rows.
        variants: {"id", "name", "role"} of the suite's variants (others are left out).
        metrics: per-image metric names, in column order.
    """
    names = {v["id"]: v for v in variants}
    by_key: dict[tuple[str, str, int], dict[str, Any]] = {}
    for r in scores:
        by_key.setdefault((r["variant_id"], r["prompt_id"], r["seed"]), {})[r["metric"]] = r
    rows = []
    for s in sorted((s for s in samples if s["variant_id"] in names),
                    key=lambda s: (list(names).index(s["variant_id"]), str(s["prompt_id"]), s["seed"])):
        v = names[s["variant_id"]]
        row = {"variant": v["name"], "variant_id": v["id"], "role": v.get("role") or "",
               "prompt_id": s["prompt_id"], "seed": s["seed"], "set_name": s.get("set_name"),
               "category": s.get("category"), "prompt": s.get("text"), "status": s["status"],
               "reason": s.get("reason"), "latency_s": s.get("latency_s"),
               "peak_mem_bytes": s.get("peak_mem_bytes"), "steps_computed": s.get("steps_computed"),
               "steps_skipped": s.get("steps_skipped"), "image": s.get("image")}
        got = by_key.get((s["variant_id"], s["prompt_id"], s["seed"]), {})
        for m in metrics:
            row[m] = got.get(m, {}).get("value")
            row[f"{m}_reason"] = got.get(m, {}).get("reason")
        rows.append(row)
    return Table(SAMPLE_COLUMNS + [c for m in metrics for c in (m, f"{m}_reason")], rows)


VARIANT_COLUMNS = ["variant", "variant_id", "status", "is_baseline", "accelerators", "samples_ok",
                   "samples_failed", "latency_p50_s", "latency_p90_s", "latency_p99_s", "latency_mean_s",
                   "speedup_p50", "cold_s", "peak_memory_mb", "gpus_per_image", "cost_per_image_usd",
                   "cost_per_1000_images_usd", "skip_rate", "inert"]
METRIC_FIELDS = ["mean", "ci_lo", "ci_hi", "delta", "delta_ci_lo", "delta_ci_hi", "n_valid", "verdict"]


def variant_table(summary: Mapping[str, Any]) -> Table:
    """Per-variant rows from the summary: speed, cost, and per metric mean, CI, delta, verdict."""
    rows = []
    for v in summary["variants"]:
        lat = v.get("latency_s") or {}
        row = {"variant": v["name"], "variant_id": v["id"], "status": v["status"],
               "is_baseline": v["is_baseline"], "accelerators": json.dumps(v["accelerators"], sort_keys=True),
               "samples_ok": v["samples"]["ok"], "samples_failed": v["samples"]["failed"],
               "latency_p50_s": lat.get("p50"), "latency_p90_s": lat.get("p90"),
               "latency_p99_s": lat.get("p99"), "latency_mean_s": lat.get("mean"),
               "speedup_p50": v.get("speedup_p50"), "cold_s": v.get("cold_s"),
               "peak_memory_mb": v.get("peak_memory_mb"), "gpus_per_image": v.get("gpus_per_image"),
               "cost_per_image_usd": v.get("cost_per_image_usd"),
               "cost_per_1000_images_usd": v.get("cost_per_1000_images_usd"),
               "skip_rate": v["steps"]["skip_rate"], "inert": v.get("inert")}
        for m, e in v["metrics"].items():
            ci, dci = e.get("ci") or [None, None], e.get("delta_ci") or [None, None]
            values = [e.get("mean"), ci[0], ci[1], e.get("delta_vs_baseline"), dci[0], dci[1],
                      e.get("n_valid"), e.get("verdict")]
            row.update({f"{m}_{f}": x for f, x in zip(METRIC_FIELDS, values, strict=True)})
        rows.append(row)
    return Table(VARIANT_COLUMNS + [f"{m}_{f}" for m in summary["metrics"] for f in METRIC_FIELDS], rows)


def _json_value(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def write_table(table: Table, path: Path, fmt: str) -> Path:
    """Write ``table`` to ``path`` (suffix added from ``fmt``) atomically; return the path."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    path = path.with_suffix(f".{fmt}")
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "csv":
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=table.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in table.rows)
    elif fmt == "json":
        rows = [{c: _json_value(r.get(c)) for c in table.columns} for r in table.rows]
        tmp.write_text(json.dumps(rows, indent=1, allow_nan=False), encoding="utf-8")
    else:
        import pyarrow as pa  # only for parquet: an optional dependency
        import pyarrow.parquet as pq

        columns = {c: [r.get(c) for r in table.rows] for c in table.columns}
        pq.write_table(pa.table(columns), tmp)
    tmp.replace(path)
    return path
