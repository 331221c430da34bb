"""A malformed answer fails its own request as ``bad_response``, never the run (issue 17, 7).

The three answers that aborted whole runs, through a full ``evalsuite run``; then a seeded
fuzz of every answer each protocol reads (random bytes, random JSON, valid answers with one
field replaced), each of which must end in a recorded outcome.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import sqlite3
from typing import Any

import httpx
import pytest

from evalsuite.endpoints import PROTOCOLS
from evalsuite.endpoints.base import ImageRequest
from evalsuite.endpoints.request import Target, request_image
from tests.conftest import hang_guard
from tests.evalsuite.endpoints.e2e import run_suite, suite_text
from tests.evalsuite.endpoints.faultserver import FaultServer, Reply, json_reply
from tests.evalsuite.endpoints.helpers import CLIP_REQ, b64_answer, mp4_clip, png_bytes, spec_for

DEEP = b"[" * 200_000  # json.loads: RecursionError
NAIVE_AND_AWARE = {"created_at": "2026-01-01T00:00:00.000Z", "started_at": "2026-01-01T00:00:02"}


@pytest.mark.slow
def test_the_answers_that_aborted_runs_fail_only_their_requests(tmp_path, monkeypatch):
    monkeypatch.setenv("HOSTILE_KEY", "sk-e2e-not-a-real-key")
    with FaultServer() as srv:
        url = srv.url
        srv.script("GET", "/files/ok.png", Reply(body=png_bytes(64, 64), content_type="image/png"))
        ok = {"id": "p", "status": "succeeded", "output": [f"{url}/files/ok.png"],
              "urls": {"get": f"{url}/p"}}
        srv.script("POST", "/r/models/o/m/predictions", Reply(201, b"[]"),
                   json_reply({**ok, **NAIVE_AND_AWARE}, 201), json_reply(ok, 201))
        srv.script("POST", "/o/images/generations", Reply(body=DEEP),
                   json_reply(b64_answer(png_bytes(64, 64))))
        text = suite_text([{"name": "rep", "protocol": "replicate", "url": url + "/r", "model": "o/m"},
                           {"name": "oai", "protocol": "openai-images", "url": url + "/o"}], limit=3)
        out, proc = run_suite(tmp_path, text)
    assert proc.returncode == 0, proc.stderr
    assert (out / "summary.json").is_file() and (out / "report" / "index.html").is_file()
    with sqlite3.connect(out / "results.sqlite") as con:
        rows = con.execute("SELECT v.name, s.prompt_id, s.status, s.reason FROM samples s "
                           "JOIN variants v ON v.id = s.variant_id ORDER BY v.name, s.prompt_id").fetchall()
        queue = con.execute("SELECT queue_s FROM endpoint_requests WHERE queue_s IS NOT NULL").fetchall()
        scored = con.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    failed = {(name, reason.split(":")[0]) for name, _, status, reason in rows if status == "failed"}
    assert failed == {("oai", "bad_response"), ("rep", "bad_response")}
    assert sum(status == "ok" for _, _, status, _ in rows) == 3 + 2 + 2  # local, rep, oai
    assert queue == [(2.0,)]  # a naive time read as UTC, beside an aware one
    assert scored >= 7  # the baseline and the delivered images were scored


# -- fuzz -------------------------------------------------------------------------------------

REQ = ImageRequest("a red cube", seed=7, steps=4, guidance=3.5, width=32, height=16)
WORDS = "abcxyz09 _-"  # random strings never form a URL, so no request leaves loopback


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**63, 10**400, rng.randrange(-10**6, 10**6)])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e308, float("nan"), float("inf")])
    if kind in (4, 5):
        return "".join(rng.choice(WORDS) for _ in range(rng.randrange(0, 20)))
    if kind in (6, 7):
        return [_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    names = ["data", "id", "status", "output", "urls", "images", "url", "x"]
    return {rng.choice(names): _value(rng, depth + 1) for _ in range(rng.randrange(0, 4))}


def _mutate(rng: random.Random, answer: Any) -> Any:
    """``answer`` with one field somewhere replaced by a random value, or removed."""
    out = copy.deepcopy(answer)
    if not isinstance(out, dict | list):
        return _value(rng)
    node = out
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return _value(rng)
        key = rng.choice(keys)
        if rng.random() < 0.4 or not isinstance(node[key], dict | list):
            if isinstance(node, dict) and rng.random() < 0.3:
                del node[key]
            else:
                node[key] = _value(rng)
            return out
        node = node[key]


def _fuzzed(rng: random.Random, valid: Reply) -> Reply:
    kind = rng.randrange(5)
    status = rng.choice([valid.status] * 6 + [200, 201, 204, 299])
    if kind == 0:
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        ctype = rng.choice(["application/json", "image/png", "application/octet-stream", None])
        return Reply(status, body, content_type=ctype)
    if kind == 1:
        return Reply(status, json.dumps(_value(rng)).encode())
    if kind == 2:
        odd = [DEEP, b'{"a":' * 50_000, b"1e999", b"NaN", b'"\\ud800"', b"\xff\xfe"]
        return Reply(status, rng.choice(odd))
    if valid.content_type != "application/json":  # an image or clip: bytes flipped, or cut short
        body = bytearray(valid.body)
        for _ in range(rng.randrange(1, 8)):
            body[rng.randrange(len(body))] = rng.randrange(256)
        return Reply(status, bytes(body[: rng.randrange(len(body) + 1)] if rng.random() < 0.3 else body),
                     content_type=valid.content_type)
    return Reply(status, json.dumps(_mutate(rng, json.loads(valid.body))).encode())


def _stages(protocol: str, url: str) -> dict[tuple[str, str], Reply]:
    """The valid answer of every route one request of ``protocol`` reads."""
    image = f"{url}/files/img.png"
    if protocol == "openai-images":
        return {("POST", "/v1/images/generations"): json_reply(b64_answer()),
                ("GET", "/files/img.png"): Reply(body=png_bytes(), content_type="image/png")}
    if protocol == "replicate":
        pred = {"id": "p1", "status": "starting", "urls": {"get": f"{url}/poll"}, **NAIVE_AND_AWARE}
        done = {**pred, "status": "succeeded", "output": [image], "metrics": {"predict_time": 1.5}}
        return {("POST", "/v1/models/o/m/predictions"): json_reply(pred, 201),
                ("GET", "/poll"): json_reply(done),
                ("GET", "/files/img.png"): Reply(body=png_bytes(), content_type="image/png")}
    if protocol == "openai-videos":
        job = {"id": "video_1", "object": "video", "status": "queued", "created_at": 1}
        done = {**job, "status": "completed", "inference_time_s": 1.0}
        return {("POST", "/v1/videos"): json_reply(job), ("GET", "/v1/videos/video_1"): json_reply(done),
                ("GET", "/v1/videos/video_1/content"): Reply(body=mp4_clip(), content_type="video/mp4")}
    return {("POST", "/v1/m"): json_reply({"request_id": "r", "status_url": f"{url}/status",
                                         "response_url": f"{url}/result"}),
            ("GET", "/status"): json_reply({"status": "COMPLETED", "metrics": {"inference_time": 1.0}}),
            ("GET", "/result"): json_reply({"images": [{"url": image, "width": 32, "height": 16}], "seed": 7,
                                            "timings": {"inference": 1.0}}),
            ("GET", "/files/img.png"): Reply(body=png_bytes(), content_type="image/png")}


@pytest.mark.parametrize("protocol", ["openai-images", "replicate", "fal-queue", "openai-videos"])
def test_fuzzed_answers_never_raise_past_the_request(protocol):
    rng = random.Random(f"fuzz-{protocol}")
    with FaultServer() as srv:
        spec = spec_for(srv.url + "/v1", protocol, model="o/m" if protocol == "replicate" else "m",
                        max_retries=0)
        stages = _stages(protocol, srv.url)
        target = Target("v", "p0", 0, CLIP_REQ if protocol == "openai-videos" else REQ)

        async def go() -> list[str]:
            outcomes = []
            async with httpx.AsyncClient() as client:
                for _ in range(60):
                    fuzzed = rng.choice(list(stages))
                    for route, valid in stages.items():  # one answer broken, the others valid
                        replies = (_fuzzed(rng, valid), valid) if route == fuzzed else (valid,)
                        srv.script(*route, *replies)
                    got = await request_image(PROTOCOLS[protocol](), spec, client, None, target)
                    assert isinstance(got.row.reason, str | None)
                    outcomes.append(got.row.outcome)
            return outcomes

        outcomes = asyncio.run(asyncio.wait_for(go(), hang_guard()))
    assert len(outcomes) == 60 and "ok" in outcomes and "bad_response" in outcomes
