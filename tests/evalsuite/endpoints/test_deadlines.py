"""One request has one total deadline; the run limit records the requests it stops (issue 17, 9).

A trickling server sends its headers, then one body byte at a time: every read succeeds, so
no per-read or per-attempt timeout of a sane length ends it. Deadlines here are short and
configured; the trickle could never finish within any of them, so no test depends on speed.
"""

from __future__ import annotations

import asyncio
import sqlite3

from evalsuite.endpoints import PROTOCOLS
from evalsuite.endpoints.generator import run_endpoint
from evalsuite.endpoints.spec import EndpointSpec
from tests.conftest import hang_guard
from tests.evalsuite.endpoints.faultserver import FaultServer, Reply, json_reply
from tests.evalsuite.endpoints.helpers import endpoint_job, stored

GEN = "/v1/images/generations"
TRICKLE = Reply(body=b'{"data": [{"b64_json": "' + b"A" * 100_000, trickle_s=0.05)  # 5,000 s at least


def _rows(tmp_path, table: str) -> list[dict]:
    with sqlite3.connect(tmp_path / "results.sqlite") as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(f"SELECT * FROM {table}")]


def test_the_default_deadline_is_sane():
    assert EndpointSpec("openai-images", "http://127.0.0.1").deadline_s == 300.0


def test_a_trickling_answer_ends_at_the_request_deadline(tmp_path):
    with FaultServer() as srv:
        srv.script("POST", GEN, TRICKLE)
        job = endpoint_job(tmp_path, srv.url + "/v1", n=1, deadline_s=1.0, max_retries=3)
        out = run_endpoint(job, PROTOCOLS["openai-images"]())
    _, samples = stored(tmp_path)
    assert out.failed and samples[0]["status"] == "failed"
    assert samples[0]["reason"].startswith("timeout: no image within deadline_s (1 s)")
    (attempt,) = _rows(tmp_path, "endpoint_attempts")  # the one cut short is recorded too
    assert attempt["outcome"] == "timeout" and "stopped in flight" in attempt["detail"]


def test_the_deadline_covers_retries_and_their_waits(tmp_path):
    with FaultServer() as srv:
        srv.script("POST", GEN, json_reply({}, 503, headers=(("Retry-After", "3"),)))
        job = endpoint_job(tmp_path, srv.url + "/v1", n=1, deadline_s=1.0, max_retries=20)
        run_endpoint(job, PROTOCOLS["openai-images"]())
        sent = len(srv.received)
    (row,) = _rows(tmp_path, "endpoint_requests")
    assert row["outcome"] == "timeout" and "deadline_s (1 s)" in row["reason"]
    assert sent == 1  # the second attempt would start after the deadline


def test_the_run_limit_records_the_requests_it_stops(tmp_path):
    with FaultServer() as srv:
        srv.script("POST", GEN, TRICKLE)

        async def both_in_flight() -> None:  # the limit, once both requests reached the server
            for _ in range(int(hang_guard() / 0.01)):
                if len(srv.received) >= 2:
                    return
                await asyncio.sleep(0.01)

        job = endpoint_job(tmp_path, srv.url + "/v1", n=4, concurrency=2)
        out = run_endpoint(job, PROTOCOLS["openai-images"](), time_limit_s=60, stop_when=both_in_flight)
    assert out.failed and "2 requests in flight recorded" in out.reason
    variant, samples = stored(tmp_path)
    assert variant["status"] == "failed" and len(samples) == 2  # the other two stay pending
    for s in samples:
        assert s["status"] == "failed"
        assert s["reason"] == "timeout: stopped in flight by the run limit ([run] timeout_s = 60 s)"
    attempts = _rows(tmp_path, "endpoint_attempts")
    assert len(attempts) == 2 and {a["outcome"] for a in attempts} == {"timeout"}


def test_a_real_run_limit_records_whatever_it_stops(tmp_path):
    with FaultServer() as srv:
        srv.script("POST", GEN, TRICKLE)
        job = endpoint_job(tmp_path, srv.url + "/v1", n=4, concurrency=2)
        out = run_endpoint(job, PROTOCOLS["openai-images"](), time_limit_s=0.5)
        received = len(srv.received)
    assert out.failed and out.reason.startswith("timed out after 0.5 s")
    rows = _rows(tmp_path, "endpoint_requests")
    assert received <= len(rows) <= 2  # every request that left is recorded (and one not yet sent may be)
    assert all(r["reason"] == "stopped in flight by the run limit ([run] timeout_s = 0.5 s)" for r in rows)
