"""Flat tables for ``evalsuite export``: one row per sample and one row per variant.

Building the rows is pure; :func:`write_table` writes CSV or JSON with the standard
library and Parquet through pyarrow (imported only then). Failed values are empty cells
(CSV) or null (JSON, Parquet), never 0; infinities (PSNR of identical images) stay inf in
CSV and Parquet and become the string "inf" in JSON, which has no infinity.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from reports.files import atomic_path
from reports.jsonio import to_json
from reports.records import SampleRecord, Score, VariantRun
from reports.summary_records import Summary

FORMATS = ("csv", "parquet", "json")


class Table(NamedTuple):
    """Column names (in order) and rows keyed by them."""

    columns: list[str]
    rows: list[dict[str, Any]]


SAMPLE_COLUMNS = ["variant", "variant_id", "role", "prompt_id", "seed", "set_name", "category", "prompt",
                  "status", "reason", "latency_s", "peak_mem_bytes", "steps_computed", "steps_skipped",
                  "image"]


def sample_table(samples: Sequence[SampleRecord], scores: Sequence[Score], variants: Sequence[VariantRun],
                 metrics: Sequence[str]) -> Table:
    """Per-sample rows with one value column and one reason column per metric.

    Args:
        samples: sample rows joined with prompts (text, set_name, category).
        scores: per-image scores.
        variants: the suite's variants (samples of others are left out).
        metrics: per-image metric names, in column order.
    """
    order = {v.id: i for i, v in enumerate(variants)}
    by_id = {v.id: v for v in variants}
    by_key: dict[tuple[str, str, int], dict[str, Score]] = {}
    for r in scores:
        by_key.setdefault((r.variant_id, r.prompt_id, r.seed), {})[r.metric] = r
    rows = []
    for s in sorted((s for s in samples if s.variant_id in by_id),
                    key=lambda s: (order[s.variant_id], str(s.prompt_id), s.seed)):
        v = by_id[s.variant_id]
        row = {"variant": v.name, "variant_id": v.id, "role": v.role or "", "prompt_id": s.prompt_id,
               "seed": s.seed, "set_name": s.set_name, "category": s.category, "prompt": s.text,
               "status": s.status, "reason": s.reason, "latency_s": s.latency_s,
               "peak_mem_bytes": s.peak_mem_bytes, "steps_computed": s.steps_computed,
               "steps_skipped": s.steps_skipped, "image": s.image}
        got = by_key.get((s.variant_id, s.prompt_id, s.seed), {})
        for m in metrics:
            score = got.get(m)
            row[m] = score.value if score else None
            row[f"{m}_reason"] = score.reason if score else None
        rows.append(row)
    return Table(SAMPLE_COLUMNS + [c for m in metrics for c in (m, f"{m}_reason")], rows)


VARIANT_COLUMNS = ["variant", "variant_id", "status", "is_baseline", "accelerators", "samples_ok",
                   "samples_failed", "latency_p50_s", "latency_p90_s", "latency_p99_s", "latency_mean_s",
                   "speedup_p50", "cold_s", "peak_memory_mb", "gpus_per_image", "cost_per_image_usd",
                   "cost_per_1000_images_usd", "skip_rate", "inert"]
METRIC_FIELDS = ["mean", "ci_lo", "ci_hi", "delta", "delta_ci_lo", "delta_ci_hi", "n_valid", "verdict"]


def variant_table(summary: Summary) -> Table:
    """Per-variant rows from the summary: speed, cost, and per metric mean, CI, delta, verdict."""
    rows = []
    for v in summary.variants:
        lat = v.latency_s
        row = {"variant": v.name, "variant_id": v.id, "status": v.status, "is_baseline": v.is_baseline,
               "accelerators": json.dumps(to_json(v.accelerators), sort_keys=True),
               "samples_ok": v.samples.ok, "samples_failed": v.samples.failed,
               "latency_p50_s": lat.p50 if lat else None, "latency_p90_s": lat.p90 if lat else None,
               "latency_p99_s": lat.p99 if lat else None, "latency_mean_s": lat.mean if lat else None,
               "speedup_p50": v.speedup_p50, "cold_s": v.cold_s, "peak_memory_mb": v.peak_memory_mb,
               "gpus_per_image": v.gpus_per_image, "cost_per_image_usd": v.cost_per_image_usd,
               "cost_per_1000_images_usd": v.cost_per_1000_images_usd,
               "skip_rate": v.steps.skip_rate, "inert": v.inert}
        for m, e in v.metrics.items():
            ci, dci = e.ci or (None, None), e.delta_ci or (None, None)
            values = [e.mean, ci[0], ci[1], e.delta_vs_baseline, dci[0], dci[1], e.n_valid, e.verdict]
            row.update({f"{m}_{f}": x for f, x in zip(METRIC_FIELDS, values, strict=True)})
        rows.append(row)
    return Table(VARIANT_COLUMNS + [f"{m}_{f}" for m in summary.metrics for f in METRIC_FIELDS], rows)


def write_table(table: Table, path: Path, fmt: str) -> Path:
    """Write ``table`` to ``path`` (suffix added from ``fmt``) atomically; return the path."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    path = path.with_suffix(f".{fmt}")
    with atomic_path(path) as tmp:
        if fmt == "csv":
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=table.columns, extrasaction="ignore")
                writer.writeheader()
                writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in table.rows)
        elif fmt == "json":
            rows = [{c: r.get(c) for c in table.columns} for r in table.rows]
            tmp.write_text(json.dumps(to_json(rows), indent=1, allow_nan=False), encoding="utf-8")
        else:
            import pyarrow as pa  # only for parquet: an optional dependency
            import pyarrow.parquet as pq

            columns = {c: [r.get(c) for r in table.rows] for c in table.columns}
            pq.write_table(pa.table(columns), tmp)
    return path
