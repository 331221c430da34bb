"""Request and response shapes against examples transcribed from each provider's public docs.

The examples keep the docs' field names and structure; ids and URLs are rewritten to point
at loopback servers so the poll sequences can be walked for real. docs/ENDPOINTS.md lists
the fields relied on.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace

import pytest

from evalsuite.endpoints import EndpointError, ImageRequest
from evalsuite.endpoints.errors import PROVIDER_FAILED
from evalsuite.endpoints.fal_queue import build_input, parse_result, parse_status, parse_submit
from evalsuite.endpoints.openai_images import build_body, parse_response
from evalsuite.endpoints.replicate import aspect_ratio, create_call, parse_prediction
from tests.evalsuite.endpoints.faultserver import FaultServer, Reply, json_reply
from tests.evalsuite.endpoints.helpers import KEY, REQ, png_bytes, run_once, spec_for

# OpenAI images API reference: the b64_json response object.
OPENAI_RESPONSE = {"created": 1713833628, "data": [{"b64_json": base64.b64encode(png_bytes()).decode()}]}

# fal queue docs: the submit answer.
FAL_SUBMIT = {
    "request_id": "80e732af-660e-45cd-bd63-580e4f2a94cc",
    "response_url": "https://queue.fal.run/fal-ai/fast-sdxl/requests/80e732af-660e-45cd-bd63-580e4f2a94cc",
    "status_url": "https://queue.fal.run/fal-ai/fast-sdxl/requests/80e732af-660e-45cd-bd63-580e4f2a94cc/status",
    "cancel_url": "https://queue.fal.run/fal-ai/fast-sdxl/requests/80e732af-660e-45cd-bd63-580e4f2a94cc/cancel",
}
# fal queue docs: status answers through the lifecycle.
FAL_IN_QUEUE = {"status": "IN_QUEUE", "queue_position": 0, "response_url": FAL_SUBMIT["response_url"]}
FAL_IN_PROGRESS = {"status": "IN_PROGRESS", "response_url": FAL_SUBMIT["response_url"],
                   "logs": [{"message": "step 1", "timestamp": "2024-08-15T10:00:00.000000"}]}
FAL_COMPLETED = {"status": "COMPLETED", "response_url": FAL_SUBMIT["response_url"],
                 "logs": [], "metrics": {"inference_time": 1.84}}
# fal FLUX.1 [dev] model page: the output schema.
FAL_RESULT = {"images": [{"url": "https://v3.fal.media/files/koala/abc.png", "width": 32, "height": 16,
                          "content_type": "image/png"}],
              "timings": {"inference": 1.83}, "seed": 7, "has_nsfw_concepts": [False],
              "prompt": "a red cube"}

# Replicate HTTP API docs: the prediction object, as created and when finished.
REPLICATE_CREATED = {
    "id": "gm3qorzdhgbfurvjtvhg6dckhu", "model": "black-forest-labs/flux-dev",
    "version": "dp-4d0bcc010b3049749a251855f12800be", "input": {"prompt": "a red cube"},
    "logs": "", "output": None, "data_removed": False, "error": None, "status": "starting",
    "created_at": "2023-09-08T16:19:34.765994Z",
    "urls": {"cancel": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu/cancel",
             "get": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu"},
}
REPLICATE_SUCCEEDED = {
    **REPLICATE_CREATED, "status": "succeeded",
    "output": ["https://replicate.delivery/yhqm/abc/out-0.png"],
    "started_at": "2023-09-08T16:19:36.779176Z", "completed_at": "2023-09-08T16:19:38.791859Z",
    "metrics": {"predict_time": 2.012683, "total_time": 4.025865},
}


def test_openai_request_and_response_shapes():
    spec = spec_for("http://127.0.0.1:1/v1", model="tiny", extra={"quality": "hd"})
    body = build_body(spec, REQ)
    assert body == {"model": "tiny", "prompt": "a red cube", "n": 1, "size": "32x16",
                    "response_format": "b64_json", "seed": 7, "num_inference_steps": 4,
                    "guidance_scale": 3.5, "quality": "hd"}
    qwen = replace(REQ, guidance_field="true_cfg_scale", negative_prompt=" ")  # as SGLang, vLLM-Omni
    assert {k: v for k, v in build_body(spec, qwen).items() if k not in body} == {
        "true_cfg_scale": 3.5, "negative_prompt": " "}
    assert "guidance_scale" not in build_body(spec, qwen)
    image, url, _ = parse_response(OPENAI_RESPONSE)
    assert image == png_bytes() and url is None
    with pytest.raises(EndpointError):
        parse_response({"created": 1, "data": []})


def test_fal_shapes():
    spec = spec_for("https://queue.fal.run", "fal-queue", model="fal-ai/flux/dev")
    assert build_input(spec, REQ) == {"prompt": "a red cube", "seed": 7, "num_inference_steps": 4,
                                      "guidance_scale": 3.5, "image_size": {"width": 32, "height": 16},
                                      "num_images": 1, "output_format": "png"}
    assert parse_submit(FAL_SUBMIT)[0] == "80e732af-660e-45cd-bd63-580e4f2a94cc"
    assert parse_status(FAL_IN_QUEUE) == ("IN_QUEUE", None)
    assert parse_status(FAL_COMPLETED) == ("COMPLETED", 1.84)
    assert parse_result(FAL_RESULT) == ("https://v3.fal.media/files/koala/abc.png", 7, 1.83)


def test_replicate_shapes():
    spec = spec_for("https://api.replicate.com/v1", "replicate", model="black-forest-labs/flux-dev")
    url, body = create_call(spec, REQ)
    assert url == "https://api.replicate.com/v1/models/black-forest-labs/flux-dev/predictions"
    assert body == {"input": {"prompt": "a red cube", "seed": 7, "num_inference_steps": 4, "guidance": 3.5,
                              "aspect_ratio": "16:9", "num_outputs": 1, "output_format": "png"}}
    pinned = spec_for("https://api.replicate.com/v1", "replicate", model="owner/name:abc123")
    assert create_call(pinned, REQ)[0] == "https://api.replicate.com/v1/predictions"
    assert create_call(pinned, REQ)[1]["version"] == "abc123"
    done = parse_prediction(REPLICATE_SUCCEEDED)
    assert done["status"] == "succeeded" and done["output"].endswith("out-0.png")
    assert done["predict_s"] == pytest.approx(2.012683) and done["queue_s"] == pytest.approx(2.013182)
    assert aspect_ratio(1024, 1024) == "1:1" and aspect_ratio(1344, 768) == "16:9"


def _at(doc: dict, old: str, new: str) -> dict:
    """``doc`` with URLs under ``old`` moved to ``new`` (loopback servers stand in for the hosts)."""
    import json
    return json.loads(json.dumps(doc).replace(old, new))


def _fal_submit(url: str) -> dict:
    return _at(FAL_SUBMIT, "https://queue.fal.run", url)


def test_fal_poll_sequence_and_key_stays_on_the_queue_host():
    with FaultServer() as queue, FaultServer() as cdn:
        base = "/fal-ai/fast-sdxl/requests/80e732af-660e-45cd-bd63-580e4f2a94cc"
        def move(d):
            return _at(_at(d, "https://queue.fal.run", queue.url), "https://v3.fal.media", cdn.url)
        queue.script("POST", "/fal-ai/flux/dev", json_reply(move(FAL_SUBMIT)))
        queue.script("GET", base + "/status", json_reply(move(FAL_IN_QUEUE), 202),
                     json_reply(move(FAL_IN_PROGRESS), 202), json_reply(move(FAL_COMPLETED)))
        queue.script("GET", base, json_reply(move(FAL_RESULT)))
        cdn.script("GET", "/files/koala/abc.png", Reply(body=png_bytes(), content_type="image/png"))
        result, attempts = run_once(spec_for(queue.url, "fal-queue", model="fal-ai/flux/dev",
                                             api_key_env="FAL_KEY"))
        assert result.data == png_bytes() and result.inference_s == 1.84 and result.reported_seed == 7
        assert [a.call for a in attempts] == ["submit", "status", "status", "status", "result", "download"]
        assert all(r.headers["authorization"] == f"Key {KEY}" for r in queue.received)
        assert "authorization" not in cdn.received[0].headers
        assert queue.received[0].json()["seed"] == 7


def test_fal_failed_request_is_a_provider_failure():
    with FaultServer() as queue:
        base = "/fal-ai/fast-sdxl/requests/80e732af-660e-45cd-bd63-580e4f2a94cc"
        queue.script("POST", "/fal-ai/flux/dev", json_reply(_fal_submit(queue.url)))
        queue.script("GET", base + "/status", json_reply({"status": "FAILED"}))
        exc, _ = run_once(spec_for(queue.url, "fal-queue", model="fal-ai/flux/dev"))
        assert isinstance(exc, EndpointError) and exc.kind == PROVIDER_FAILED


def test_replicate_poll_sequence():
    with FaultServer() as api, FaultServer() as cdn:
        def move(d):
            return _at(_at(d, "https://api.replicate.com", api.url), "https://replicate.delivery", cdn.url)
        api.script("POST", "/v1/models/black-forest-labs/flux-dev/predictions",
                   json_reply(move(REPLICATE_CREATED), 201))
        api.script("GET", "/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu",
                   json_reply(move({**REPLICATE_CREATED, "status": "processing"})),
                   json_reply(move(REPLICATE_SUCCEEDED)))
        cdn.script("GET", "/yhqm/abc/out-0.png", Reply(body=png_bytes(), content_type="image/png"))
        result, attempts = run_once(spec_for(api.url + "/v1", "replicate",
                                             model="black-forest-labs/flux-dev", api_key_env="R"))
        assert result.data == png_bytes() and result.inference_s == pytest.approx(2.012683)
        assert result.queue_s == pytest.approx(2.013182)
        assert [a.call for a in attempts] == ["create", "status", "status", "download"]
        assert api.received[0].json()["input"]["seed"] == 7
        assert api.received[0].headers["authorization"] == f"Bearer {KEY}"
        assert "authorization" not in cdn.received[0].headers


def test_poll_is_bounded_by_max_wait():
    with FaultServer() as queue:
        base = "/fal-ai/fast-sdxl/requests/80e732af-660e-45cd-bd63-580e4f2a94cc"
        queue.script("POST", "/fal-ai/flux/dev", json_reply(_fal_submit(queue.url)))
        queue.script("GET", base + "/status", json_reply(FAL_IN_QUEUE))
        # Real sleeps between polls: with the tests' instant sleeps the number of polls in
        # 0.3 s would only measure how fast this machine answers (76 were seen).
        exc, attempts = run_once(spec_for(queue.url, "fal-queue", model="fal-ai/flux/dev",
                                          max_wait_s=0.3, poll_interval_s=0.05), sleeps=asyncio.sleep)
        # the submit, then at most max_wait_s / poll_interval_s polls, however fast the machine
        assert exc.kind == "timeout" and 2 <= len(attempts) <= 1 + 6


def test_request_settings_reach_the_server():
    with FaultServer() as srv:
        srv.script("POST", "/v1/images/generations", json_reply(OPENAI_RESPONSE))
        req = ImageRequest("p", seed=123, steps=9, guidance=1.5, width=48, height=64)
        run_once(spec_for(srv.url + "/v1"), req=req)
        sent = srv.received[0].json()
        assert (sent["seed"], sent["num_inference_steps"], sent["guidance_scale"], sent["size"]) == \
            (123, 9, 1.5, "48x64")


def test_reported_cache_counts_are_believed_only_as_two_small_counts() -> None:
    from evalsuite.endpoints.base import MAX_REPORTED_STEPS, reported_steps

    assert reported_steps({"steps_computed": 8, "steps_skipped": 32}) == (8, 32)
    for hostile in (None, [], "8/32", {"steps_computed": 8}, {"steps_computed": True, "steps_skipped": 1},
                    {"steps_computed": -1, "steps_skipped": 3}, {"steps_computed": 1.5, "steps_skipped": 3},
                    {"steps_computed": 10**40, "steps_skipped": 0}, {"steps_computed": 0, "steps_skipped": 0},
                    {"steps_computed": MAX_REPORTED_STEPS + 1, "steps_skipped": 0}):
        assert reported_steps(hostile) is None, hostile
