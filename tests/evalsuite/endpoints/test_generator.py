"""The endpoint generator writes the same samples and PNGs as a local worker, and accounts
for every request: failures recorded with their kind, a dead provider fails the variant."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
from PIL import Image

from evalsuite.endpoints import PROTOCOLS
from evalsuite.endpoints.generator import FAIL_FAST_AFTER, EndpointItem, EndpointJob, run_endpoint
from evalsuite.endpoints.records import EndpointLog
from evalsuite.store.db import Store
from evalsuite.store.paths import telemetry_path
from reports.jsonio import to_json
from reports.stats import spread
from tests.evalsuite.endpoints.faultserver import FaultServer, Reply, json_reply
from tests.evalsuite.endpoints.helpers import KEY, b64_answer, png_bytes, spec_for

GEN = "/v1/images/generations"


def _job(tmp_path, url, n=4, **spec_over):
    store = Store(tmp_path / "results.sqlite")
    store.put_prompts((f"p{i}", f"prompt {i}", "t", i, "c", {}) for i in range(n))
    store.put_variant("vid0000000000000", "ep", {"endpoint": {}})
    store.close()
    items = tuple(EndpointItem(f"p{i}", f"prompt {i}", 0) for i in range(n))
    return EndpointJob(str(tmp_path), "vid0000000000000", "ep", spec_for(url, **spec_over),
                       4, 3.5, 32, 16, items, "images/ep-vid00000")


def _status(tmp_path):
    with Store(tmp_path / "results.sqlite") as store:  # as dicts, to compare with JSON-like rows
        return asdict(store.variants()[0]), [asdict(r) for r in store.samples()]


def test_samples_pngs_and_stats(tmp_path, monkeypatch):
    monkeypatch.setenv("EP_KEY", KEY)
    with FaultServer() as srv:
        srv.script("POST", GEN, json_reply({}, 500), json_reply(b64_answer()))
        job = _job(tmp_path, srv.url + "/v1", concurrency=2, api_key_env="EP_KEY",
                   price_per_megapixel=0.5)
        out = run_endpoint(job, PROTOCOLS["openai-images"](), backoff_base_s=0.01)
    assert not out.failed and out.ok == 4
    variant, samples = _status(tmp_path)
    assert variant["status"] == "ok" and len(samples) == 4
    for s in samples:
        assert s["status"] == "ok" and s["latency_s"] > 0
        img = Image.open(tmp_path / s["image"])
        assert np.array_equal(np.asarray(img), np.asarray(Image.open(__import__("io").BytesIO(png_bytes()))))
    tele = json.loads(telemetry_path(tmp_path, "ep", "vid0000000000000").read_text())["endpoint"]
    assert tele["requests"] == {"total": 4, "ok": 4, "failed": 0}
    assert tele["failed_attempts_by_kind"] == {"5xx": 1} and tele["retries"] == 1
    assert tele["latency_s"]["n"] == 4 and tele["images_per_minute"] > 0
    assert tele["cost_per_image_usd"] == pytest.approx(0.5 * 32 * 16 / 1e6)
    assert tele["seed_probe"]["seed_honoured"] is True and tele["seed_probe"]["same_bytes"] is True
    assert KEY not in json.dumps(tele)
    # every HTTP attempt is in the store: 4 requests + 1 retry + the seed probe
    log = EndpointLog(tmp_path / "results.sqlite")
    assert len(log.attempts("vid0000000000000")) == 6
    log.close()


def test_failures_are_recorded_per_sample_and_resume_retries_them(tmp_path):
    with FaultServer() as srv:
        bad = Reply(body=b'{"data": [{"b64_json": "bm90IGFuIGltYWdl"}]}')  # "not an image"
        srv.script("POST", GEN, bad, json_reply(b64_answer()))
        job = _job(tmp_path, srv.url + "/v1", n=3)
        out = run_endpoint(job, PROTOCOLS["openai-images"]())
        assert out.ok == 2 and out.kinds == {"not_an_image": 1}
        variant, samples = _status(tmp_path)
        failed = [s for s in samples if s["status"] == "failed"]
        assert variant["status"] == "ok" and len(failed) == 1
        assert failed[0]["reason"].startswith("not_an_image:")
        # a rerun sends only the failed one
        store = Store(tmp_path / "results.sqlite")
        done = store.done_keys("vid0000000000000")
        store.close()
        retry = EndpointJob(**{**job.__dict__, "items": tuple(i for i in job.items
                                                             if (i.prompt_id, i.seed) not in done)})
        assert len(retry.items) == 1
        run_endpoint(retry, PROTOCOLS["openai-images"]())
    variant, samples = _status(tmp_path)
    assert all(s["status"] == "ok" for s in samples) and len(samples) == 3
    tele = json.loads(telemetry_path(tmp_path, "ep", "vid0000000000000").read_text())["endpoint"]
    assert tele["requests"] == {"total": 4, "ok": 3, "failed": 1} and len(tele["sessions"]) == 2


def test_provider_failing_every_request_fails_the_variant(tmp_path):
    with FaultServer() as srv:
        srv.script("POST", GEN, json_reply({"detail": "unauthorized"}, 401))
        job = _job(tmp_path, srv.url + "/v1", n=FAIL_FAST_AFTER + 5)
        out = run_endpoint(job, PROTOCOLS["openai-images"]())
        sent = len(srv.received)
    assert out.failed and "every request failed" in out.reason and "4xx" in out.reason
    variant, samples = _status(tmp_path)
    assert variant["status"] == "failed" and variant["error"] == out.reason
    # it stopped early; what was sent is recorded, the rest stays pending for a rerun
    assert sent == FAIL_FAST_AFTER and len(samples) == FAIL_FAST_AFTER


def test_seed_not_honoured_is_detected(tmp_path):
    with FaultServer() as srv:
        srv.script("POST", GEN, *(json_reply(b64_answer(png_bytes(value=v))) for v in (10, 20, 30)))
        out = run_endpoint(_job(tmp_path, srv.url + "/v1", n=2), PROTOCOLS["openai-images"]())
    assert out.ok == 2
    tele = json.loads(telemetry_path(tmp_path, "ep", "vid0000000000000").read_text())["endpoint"]
    assert tele["seed_probe"]["seed_honoured"] is False


def test_warm_up_requests_go_first_and_stay_out_of_the_statistics(tmp_path):
    import dataclasses

    with FaultServer() as srv:
        # the provider's cold start: the first request is slow, the rest are fast
        srv.script("POST", GEN, json_reply(b64_answer(), delay_s=1.0), json_reply(b64_answer()))
        job = dataclasses.replace(_job(tmp_path, srv.url + "/v1"), warmup=2)
        out = run_endpoint(job, PROTOCOLS["openai-images"]())
        sent = len(srv.received)
    assert not out.failed and out.ok == 4
    assert sent == 2 + 4 + 1  # warm-ups, timed requests, seed probe
    log = EndpointLog(tmp_path / "results.sqlite")
    rows = log.requests("vid0000000000000")
    log.close()
    assert [r["outcome"] for r in rows[:2]] == ["warmup:ok", "warmup:ok"]
    assert rows[0]["prompt_id"] == "p0"  # the first item's request, as a local worker warms up
    tele = json.loads(telemetry_path(tmp_path, "ep", "vid0000000000000").read_text())["endpoint"]
    assert tele["requests"] == {"total": 4, "ok": 4, "failed": 0}
    # The cold start (>= 1 s, the server's delay) is not in the statistics: they are the timed
    # requests' alone (compared as rows, not against a latency a loaded machine could reach).
    assert rows[0]["latency_s"] >= 1.0
    assert tele["latency_s"]["n"] == 4
    timed = [r["latency_s"] for r in rows if r["outcome"] == "ok"]
    assert len(timed) == 4 and tele["latency_s"] == to_json(spread(timed))
