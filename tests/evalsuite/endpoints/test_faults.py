"""Each fault a provider can inject ends in the right recorded outcome, with no traceback."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from evalsuite.endpoints import EndpointError
from evalsuite.endpoints.errors import (
    NOT_AN_IMAGE,
    OVERSIZE,
    RATE_LIMITED,
    REDIRECT,
    SERVER_ERROR,
    TIMEOUT,
    TRUNCATED,
    WRONG_CONTENT_TYPE,
)
from evalsuite.endpoints.images import decode_image
from tests.evalsuite.endpoints.faultserver import FaultServer, Reply, json_reply
from tests.evalsuite.endpoints.helpers import KEY, Sleeps, b64_answer, png_bytes, run_once, spec_for

GEN = "/v1/images/generations"


@pytest.fixture
def srv():
    with FaultServer() as server:
        yield server


def outcomes(attempts):
    return [a.outcome for a in attempts]


def test_added_latency_is_measured_and_succeeds(srv):
    srv.script("POST", GEN, json_reply(b64_answer(), delay_s=0.3))
    result, attempts = run_once(spec_for(srv.url + "/v1"))
    assert result.data == png_bytes()
    assert outcomes(attempts) == ["ok"] and attempts[0].elapsed_s >= 0.3


def test_429_honours_retry_after_then_succeeds(srv):
    srv.script("POST", GEN, json_reply({"error": "slow down"}, 429, headers=(("Retry-After", "7"),)),
               json_reply(b64_answer()))
    sleeps = Sleeps()
    result, attempts = run_once(spec_for(srv.url + "/v1"), sleeps=sleeps)
    assert result.data == png_bytes()
    assert outcomes(attempts) == [RATE_LIMITED, "ok"]
    assert sleeps.waits[0] >= 7 and attempts[0].wait_s == sleeps.waits[0] and attempts[0].status == 429


def test_intermittent_500_is_retried_with_growing_backoff(srv):
    srv.script("POST", GEN, json_reply({}, 500), json_reply({}, 503), json_reply(b64_answer()))
    sleeps = Sleeps()
    result, attempts = run_once(spec_for(srv.url + "/v1"), sleeps=sleeps)
    assert result.data == png_bytes()
    assert outcomes(attempts) == [SERVER_ERROR, SERVER_ERROR, "ok"]
    # exponential with jitter: the 2nd wait is drawn from a range twice as high as the 1st
    assert 0.25 <= sleeps.waits[0] <= 0.5 and 0.5 <= sleeps.waits[1] <= 1.0


def test_500_every_time_gives_up_after_max_retries(srv):
    srv.script("POST", GEN, json_reply({"detail": "boom"}, 500))
    exc, attempts = run_once(spec_for(srv.url + "/v1", max_retries=2))
    assert isinstance(exc, EndpointError) and exc.kind == SERVER_ERROR
    assert outcomes(attempts) == [SERVER_ERROR] * 3 and "after 3 attempts" in str(exc)


def test_truncated_body_is_retried(srv):
    body = b"".join([b'{"data": [{"b64_json": "', base64.b64encode(png_bytes()), b'"}]}'])
    srv.script("POST", GEN, Reply(body=body, truncate_to=20), Reply(body=body))
    result, attempts = run_once(spec_for(srv.url + "/v1"))
    assert outcomes(attempts) == [TRUNCATED, "ok"] and result.data == png_bytes()


def test_wrong_content_type_is_not_retried(srv):
    srv.script("POST", GEN, Reply(body=b"<html>login</html>", content_type="text/html"))
    exc, attempts = run_once(spec_for(srv.url + "/v1"))
    assert exc.kind == WRONG_CONTENT_TYPE and outcomes(attempts) == [WRONG_CONTENT_TYPE]


def test_bytes_that_are_not_an_image():
    with pytest.raises(EndpointError) as err:
        decode_image(b"GIF89a but not really an image at all")
    assert err.value.kind == NOT_AN_IMAGE


def test_decompression_bomb_guard_stays_on():
    # A PNG header that claims 30000 x 30000 pixels: PIL refuses it before decoding anything.
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
    bomb += chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    with pytest.raises(EndpointError) as err:
        decode_image(bomb)
    assert err.value.kind == OVERSIZE


@pytest.mark.parametrize("no_length", [False, True])
def test_oversize_body_is_refused(srv, no_length):
    srv.script("POST", GEN, json_reply(b64_answer(b"x" * 200_000), no_length=no_length))
    exc, attempts = run_once(spec_for(srv.url + "/v1", max_body_mb=0.05))
    assert exc.kind == OVERSIZE and outcomes(attempts) == [OVERSIZE]


def test_hang_past_timeout(srv):
    srv.script("POST", GEN, Reply(hang=True))
    exc, attempts = run_once(spec_for(srv.url + "/v1", timeout_s=0.5, max_retries=1))
    assert exc.kind == TIMEOUT and outcomes(attempts) == [TIMEOUT, TIMEOUT]


def test_redirect_to_another_host_drops_the_key(srv):
    with FaultServer() as other:
        other.script("POST", "/elsewhere", json_reply(b64_answer()))
        srv.script("POST", GEN, Reply(307, headers=(("Location", other.url + "/elsewhere"),)))
        result, _ = run_once(spec_for(srv.url + "/v1", api_key_env="X"))
        assert result.data == png_bytes()
        assert srv.received[0].headers["authorization"] == f"Bearer {KEY}"
        assert "authorization" not in other.received[0].headers


def test_redirect_to_plain_http_elsewhere_is_refused(srv):
    srv.script("POST", GEN, Reply(302, headers=(("Location", "http://example.com/steal"),)))
    exc, attempts = run_once(spec_for(srv.url + "/v1"))
    assert exc.kind == REDIRECT and len(srv.received) == 1


def test_key_is_redacted_where_errors_are_recorded(tmp_path, srv, monkeypatch):
    """The HTTP layer's messages may quote the server; the recorder redacts them (one point)."""
    import sqlite3

    from evalsuite.endpoints import PROTOCOLS
    from evalsuite.endpoints.generator import run_endpoint
    from tests.evalsuite.endpoints.helpers import endpoint_job

    monkeypatch.setenv("EP_KEY", KEY)
    srv.script("POST", GEN, json_reply({"error": f"bad key {KEY}"}, 401))
    job = endpoint_job(tmp_path, srv.url + "/v1", n=1, api_key_env="EP_KEY")
    out = run_endpoint(job, PROTOCOLS["openai-images"]())
    assert out.failed and KEY not in out.reason
    with sqlite3.connect(tmp_path / "results.sqlite") as con:
        stored = con.execute("SELECT reason FROM endpoint_requests").fetchall()
        stored += con.execute("SELECT detail FROM endpoint_attempts").fetchall()
        stored += con.execute("SELECT reason FROM samples").fetchall()
    assert len(stored) == 3 and all("[redacted]" in text and KEY not in text for (text,) in stored)
