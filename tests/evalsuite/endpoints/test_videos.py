"""``openai-videos``: the async video protocol of SGLang Diffusion and vLLM-Omni against hostile
loopback servers (issue 20, 6): its request shapes, bounded polling, and each fault the image
protocols are tested for, ending in the right recorded outcome with the clip decoded or refused
within bounded time and memory."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3

import httpx
import pytest

from evalsuite.endpoints import PROTOCOLS, EndpointError
from evalsuite.endpoints.errors import (
    BAD_RESPONSE,
    CLIENT_ERROR,
    NOT_A_VIDEO,
    OVERSIZE,
    PROVIDER_FAILED,
    RATE_LIMITED,
    SERVER_ERROR,
    TIMEOUT,
    WRONG_CONTENT_TYPE,
)
from evalsuite.endpoints.polling import max_polls
from evalsuite.endpoints.request import Target, request_image
from evalsuite.run.serve_videos import parse_form
from tests.conftest import hang_guard
from tests.evalsuite.endpoints.faultserver import FaultServer, Reply, json_reply
from tests.evalsuite.endpoints.helpers import (
    CLIP_REQ,
    KEY,
    Sleeps,
    endpoint_job,
    mp4_clip,
    run_once,
    spec_for,
)

VID = "video_4f2c"
CREATED = {"id": VID, "object": "video", "model": "wan", "status": "queued", "progress": 0,
           "created_at": 1761000000, "size": "32x16", "seconds": "1", "quality": "standard"}
DONE = {**CREATED, "status": "completed", "progress": 100, "completed_at": 1761000004,
        "inference_time_s": 3.25}
MP4 = Reply(body=b"", content_type="video/mp4")  # body filled in per test (mp4_clip)


@pytest.fixture
def srv():
    with FaultServer() as server:
        yield server


def script_job(srv: FaultServer, *polls: Reply, content: Reply | None = None) -> None:
    srv.script("POST", "/v1/videos", json_reply(CREATED))
    srv.script("GET", f"/v1/videos/{VID}", *(polls or (json_reply(DONE),)))
    srv.script("GET", f"/v1/videos/{VID}/content", content or dataclasses.replace(MP4, body=mp4_clip()))


def request(spec, req=CLIP_REQ, key: str | None = None):
    """One request through the same path a run takes (protocol, decoding, flags): its Delivery."""
    async def go():
        async with httpx.AsyncClient() as client:
            return await request_image(PROTOCOLS[spec.protocol](), spec, client, key,
                                        Target("v", "p0", 0, req), sleep=Sleeps())
    return asyncio.run(asyncio.wait_for(go(), hang_guard()))


def calls(attempts):
    return [(a.call, a.outcome) for a in attempts]


def test_json_create_poll_fetch_sends_the_engines_fields(srv):
    script_job(srv, json_reply({**CREATED, "status": "in_progress"}), json_reply(DONE))
    result, attempts = run_once(spec_for(srv.url + "/v1", "openai-videos", model="wan", api_key_env="K",
                                         extra={"guidance_scale_2": 3.0}), req=CLIP_REQ)
    assert result.data == mp4_clip() and result.inference_s == 3.25 and result.notes["video_id"] == VID
    assert calls(attempts) == [("create", "ok"), ("status", "ok"), ("status", "ok"), ("content", "ok")]
    sent = srv.received[0].json()
    assert sent == {"prompt": "a red cube rolling", "size": "32x16", "seed": 7, "num_inference_steps": 4,
                    "guidance_scale": 5.0, "num_frames": 9, "fps": 8, "negative_prompt": "blurry",
                    "model": "wan", "guidance_scale_2": 3.0}
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in srv.received)


def test_form_create_sends_the_same_fields_as_multipart(srv):
    script_job(srv)
    result, _ = run_once(spec_for(srv.url + "/v1", "openai-videos-form"), req=CLIP_REQ)
    first = srv.received[0]
    assert first.headers["content-type"].startswith("multipart/form-data") and result.data == mp4_clip()
    fields = parse_form(first.body, first.headers["content-type"])  # serve's parser reads it back
    assert (fields["prompt"], fields["num_frames"], fields["fps"], fields["size"]) == \
        ("a red cube rolling", 9, 8, "32x16")


def test_a_never_finishing_job_stops_after_the_bounded_polls(srv):
    script_job(srv, json_reply({**CREATED, "status": "in_progress"}))
    spec = spec_for(srv.url + "/v1", "openai-videos", max_wait_s=0.5, poll_interval_s=0.1)
    exc, attempts = run_once(spec, req=CLIP_REQ)  # the tests' sleeps return at once: the count bounds it
    assert isinstance(exc, EndpointError) and exc.kind == TIMEOUT and "6 polls" in str(exc)
    assert calls(attempts) == [("create", "ok")] + [("status", "ok")] * max_polls(0.5, 0.1)


def test_a_404_mid_poll_fails_without_fetching(srv):
    script_job(srv, json_reply({**CREATED, "status": "in_progress"}), json_reply({"detail": "gone"}, 404))
    exc, attempts = run_once(spec_for(srv.url + "/v1", "openai-videos"), req=CLIP_REQ)
    assert exc.kind == CLIENT_ERROR and calls(attempts)[-1] == ("status", CLIENT_ERROR)
    assert not any(r.path.endswith("/content") for r in srv.received)


def test_a_failed_job_says_why(srv):
    failed = {**CREATED, "status": "failed", "error": {"code": 500, "message": "CUDA OOM"}}
    script_job(srv, json_reply(failed))
    exc, _ = run_once(spec_for(srv.url + "/v1", "openai-videos"), req=CLIP_REQ)
    assert exc.kind == PROVIDER_FAILED and f"video job {VID} ended failed: CUDA OOM" in str(exc)


def test_transient_faults_are_retried(srv):
    srv.script("POST", "/v1/videos", json_reply({}, 429, headers=(("Retry-After", "2"),)),
               json_reply(CREATED))
    srv.script("GET", f"/v1/videos/{VID}", json_reply({}, 503), json_reply(DONE))
    srv.script("GET", f"/v1/videos/{VID}/content", dataclasses.replace(MP4, body=mp4_clip()))
    result, attempts = run_once(spec_for(srv.url + "/v1", "openai-videos"), req=CLIP_REQ)
    assert result.data == mp4_clip()
    assert [a.outcome for a in attempts] == [RATE_LIMITED, "ok", SERVER_ERROR, "ok", "ok"]


@pytest.mark.parametrize("job", [{"id": "../../v1/images"}, {"id": "a b"}, {"id": 7}, {"status": "queued"},
                                 {"id": VID, "status": None}])
def test_a_job_record_without_a_usable_id_or_status_is_refused(srv, job):
    srv.script("POST", "/v1/videos", json_reply({**CREATED, **job} if "id" in job else job))
    exc, attempts = run_once(spec_for(srv.url + "/v1", "openai-videos"), req=CLIP_REQ)
    assert exc.kind == BAD_RESPONSE and len(srv.received) == 1


@pytest.mark.parametrize(("content", "kind"), [
    (Reply(body=b"<html>sign in</html>", content_type="text/html"), WRONG_CONTENT_TYPE),
    (Reply(body=b"\0" * 300_000, content_type="video/mp4"), OVERSIZE),  # past max_body_mb
    (Reply(body=b"\0\0\0\x1cftypisom" + bytes(range(256)) * 40, content_type="video/mp4"), NOT_A_VIDEO),
])
def test_hostile_content_fails_its_request(srv, content, kind):
    script_job(srv, content=content)
    got = request(spec_for(srv.url + "/v1", "openai-videos", max_body_mb=0.25))
    assert got.row.outcome == kind and got.frames is None, got.row.reason


def test_a_clip_whose_frames_are_too_large_is_refused_before_decoding(srv):
    # 256x256 frames for a 32x16 request: 128x the pixels; FFmpeg is told to refuse them.
    script_job(srv, content=dataclasses.replace(MP4, body=mp4_clip(9, 256, 256)))
    got = request(spec_for(srv.url + "/v1", "openai-videos"))
    assert got.row.outcome == OVERSIZE and "256x256" in got.row.reason


@pytest.mark.parametrize(("clip", "flag"), [
    (mp4_clip(13), "frame count mismatch: requested 9, delivered more than 9"),
    (mp4_clip(5), "frame count mismatch: requested 9, delivered 5"),
    (mp4_clip(9, 48, 32), "size mismatch: requested 32x16, delivered 48x32"),
    (mp4_clip(9, fps=24), "frame rate mismatch: requested 8 fps, delivered 24"),
])
def test_a_clip_that_is_not_what_was_asked_is_stored_flagged(srv, clip, flag):
    script_job(srv, content=dataclasses.replace(MP4, body=clip))
    got = request(spec_for(srv.url + "/v1", "openai-videos"))
    assert got.row.outcome == "flagged" and got.row.reason == flag and got.frames is not None


def test_a_good_clip_decodes_frame_for_frame(srv):
    script_job(srv)
    got = request(spec_for(srv.url + "/v1", "openai-videos"))
    assert got.row.outcome == "ok" and got.frames.shape == (9, 16, 32, 3) and got.image.size == (32, 16)
    assert (got.row.width, got.row.height, got.fps) == (32, 16, 8)


def test_a_trickling_content_body_ends_at_the_request_deadline(srv):
    script_job(srv, content=Reply(body=mp4_clip() * 50, content_type="video/mp4", trickle_s=0.05))
    got = request(spec_for(srv.url + "/v1", "openai-videos", deadline_s=1.0))
    assert got.row.outcome == TIMEOUT and got.row.reason.startswith("no clip within deadline_s (1 s)")


def test_content_redirected_to_a_cdn_gets_no_key(srv):
    with FaultServer() as cdn:
        cdn.script("GET", "/clip.mp4", dataclasses.replace(MP4, body=mp4_clip()))
        script_job(srv, content=Reply(302, headers=(("Location", cdn.url + "/clip.mp4"),)))
        got = request(spec_for(srv.url + "/v1", "openai-videos", api_key_env="K"), key=KEY)
        assert got.row.outcome == "ok"
        assert srv.received[-1].headers["authorization"] == f"Bearer {KEY}"
        assert "authorization" not in cdn.received[0].headers


def test_clips_are_stored_like_local_ones_and_the_key_never_is(tmp_path, srv, monkeypatch):
    """Through the generator: lossless copy, MP4 and poster per sample, the seed probe compares
    every frame, and a reason quoting the key is stored redacted."""
    from evalsuite.endpoints.generator import run_endpoint
    from evalsuite.store.clips import mp4_frame_count, read_clip
    from tests.evalsuite.endpoints.helpers import stored

    monkeypatch.setenv("EP_KEY", KEY)
    srv.script("POST", "/v1/videos", json_reply(CREATED))
    failed = {**CREATED, "status": "failed", "error": {"message": f"rejected Bearer {KEY}"}}
    # The denoiser calls as serve reports a Wan 2.2 clip's, per expert too.
    counted = {**DONE, "cache": {"steps_computed": 6, "steps_skipped": 2, "experts": {
        "transformer": {"steps_computed": 2, "steps_skipped": 0},
        "transformer_2": {"steps_computed": 4, "steps_skipped": 2}}}}
    srv.script("GET", f"/v1/videos/{VID}", json_reply(counted), json_reply(failed), json_reply(DONE))
    srv.script("GET", f"/v1/videos/{VID}/content", dataclasses.replace(MP4, body=mp4_clip()))
    job = dataclasses.replace(endpoint_job(tmp_path, srv.url + "/v1", n=2, protocol="openai-videos",
                                           api_key_env="EP_KEY"), frames=9, fps=8)
    out = run_endpoint(job, PROTOCOLS["openai-videos"]())
    _, samples = stored(tmp_path)
    assert not out.failed and [s["status"] for s in samples] == ["ok", "failed"]
    assert "[redacted]" in samples[1]["reason"] and KEY not in samples[1]["reason"]
    assert (samples[0]["steps_computed"], samples[0]["steps_skipped"]) == (6, 2)
    assert json.loads(samples[0]["expert_steps"]) == {"transformer": [2, 0], "transformer_2": [4, 2]}
    clip = read_clip(tmp_path / samples[0]["clip"])
    assert clip.frames.shape == (9, 16, 32, 3) and clip.fps == 8
    assert mp4_frame_count(tmp_path / samples[0]["clip"].replace(".npz", ".mp4")) == 9
    assert (tmp_path / samples[0]["image"]).is_file()  # the poster
    with sqlite3.connect(tmp_path / "results.sqlite") as con:
        reasons = con.execute("SELECT reason FROM endpoint_requests WHERE reason IS NOT NULL").fetchall()
    assert reasons and all(KEY not in r for (r,) in reasons)
    assert KEY.encode() not in (tmp_path / "results.sqlite").read_bytes()
    tele = (tmp_path / "telemetry").glob("*.json")
    assert '"seed_honoured": true' in next(tele).read_text()


@pytest.mark.parametrize("cache", [None, [], {"experts": "x"}, {"experts": {"transformer": {}}},
                                   {"experts": {"a": {"steps_computed": 1, "steps_skipped": 0},
                                                "b c": {"steps_computed": 1, "steps_skipped": 0}}},
                                   {"experts": {"a": {"steps_computed": 1, "steps_skipped": 0},
                                                "b": {"steps_computed": -1, "steps_skipped": 0}}}])
def test_per_expert_counts_are_believed_only_whole(cache):
    from evalsuite.endpoints.base import reported_expert_steps

    assert reported_expert_steps(cache) is None
