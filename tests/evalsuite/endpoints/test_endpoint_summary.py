"""Endpoint stats reach summary.json as typed records; an endpoint's cost is its price."""

from __future__ import annotations

import json

from evalsuite.analysis.reporting import _endpoint_stats
from reports.metric_info import MetricInfo
from reports.records import EndpointStats, Pricing, SampleRecord, VariantRun
from reports.summary import build_summary, summary_from_json, summary_to_json

TELEMETRY = {"variant": "fal", "variant_id": "v2", "endpoint": {
    "protocol": "fal-queue", "url": "https://queue.fal.run", "model": "fal-ai/flux/dev", "concurrency": 4,
    "accepted": {"seed": "seed"}, "extra": {}, "sessions": [{"session": 1.0, "wall_s": 10.0, "ok": 3}],
    "requests": {"total": 4, "ok": 3, "failed": 1}, "failures_by_kind": {"429": 1},
    "failed_attempts_by_kind": {"429": 4, "5xx": 1}, "attempts": 20, "retries": 4,
    "latency_s": {"p50": 2.0, "p90": 3.0, "p99": 3.5, "mean": 2.2, "n": 3}, "queue_s": None,
    "inference_s": {"p50": 1.5, "p90": 1.6, "p99": 1.7, "mean": 1.5, "n": 3},
    "images_per_minute": 18.0, "cost_per_image_usd": 0.05,
    "price": {"usd": 0.025, "unit": "megapixel", "source": "fal.ai", "date": "2026-12-01"},
    "seed_probe": {"seed_honoured": False, "same_bytes": False, "same_pixels": False, "probe": "p0-0"}}}


def test_endpoint_stats_flow_into_the_summary():
    stats = _endpoint_stats(json.loads(json.dumps(TELEMETRY)))
    assert isinstance(stats, EndpointStats) and stats.requests.failed == 1
    assert stats.seed_probe.seed_honoured is False and stats.inference_s.p50 == 1.5
    assert _endpoint_stats({}) is None  # no telemetry yet
    variants = [VariantRun("v1", "base", "ok"),
                VariantRun("v2", "fal", "ok", gpus_per_image=0, endpoint=stats)]
    samples = [SampleRecord(v, "p0", 0, "ok", latency_s=lat) for v, lat in (("v1", 10.0), ("v2", 2.0))]
    summary = build_summary(suite="s", baseline="base", variants=variants, samples=samples, scores=[],
                            set_scores=[], metrics={"psnr": MetricInfo(True, "paired", None)},
                            pricing=Pricing("H100", 3.6, 1, "test"), expected_per_variant=1)
    base, fal = summary.variants
    assert base.endpoint is None and base.cost_per_image_usd == 0.01  # 10 s at $3.60/h
    assert fal.cost_per_image_usd == 0.05 and fal.endpoint == stats  # the provider's price
    data = summary_to_json(summary)
    assert data["variants"][1]["endpoint"]["failures_by_kind"] == {"429": 1}
    assert summary_from_json(json.loads(json.dumps(data))).variants[1].endpoint == stats
