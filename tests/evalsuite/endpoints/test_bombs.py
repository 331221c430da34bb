"""Memory stays bounded by ``max_body_mb`` whatever the Content-Encoding (issue 17, 6).

The cap holds on decoded bytes: a single gzip or deflate layer is decoded incrementally
against it; stacked or unknown encodings are refused. The memory test runs a variant of
bombs in a subprocess and reads its peak RSS from /proc.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from evalsuite.endpoints.errors import BAD_RESPONSE, OVERSIZE
from tests.conftest import REPO, hang_guard
from tests.evalsuite.endpoints.faultserver import FaultServer, Reply, json_reply
from tests.evalsuite.endpoints.helpers import b64_answer, png_bytes, run_once, spec_for

GEN = "/v1/images/generations"
MIB = 1 << 20


def compressed_zeros(n: int, wbits: int = 31) -> bytes:
    """``n`` zero bytes compressed (gzip by default), made a MiB at a time."""
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join([*(c.compress(bytes(MIB)) for _ in range(n // MIB)), c.flush()])


def gzip(data: bytes) -> bytes:
    """One gzip layer around ``data``."""
    return zlib.compress(data, 9, wbits=31)


def encoded(body: bytes, coding: str) -> Reply:
    """A JSON answer whose body is sent as it is, under ``Content-Encoding: coding``."""
    return Reply(body=body, headers=(("Content-Encoding", coding),))


@pytest.fixture
def srv():
    with FaultServer() as server:
        yield server


def test_one_gzip_layer_is_decoded(srv):
    answer = json.dumps(b64_answer()).encode()
    srv.script("POST", GEN, encoded(zlib.compress(answer, 9, wbits=31), "gzip"))
    result, _ = run_once(spec_for(srv.url + "/v1"))
    assert result.data == png_bytes()
    assert srv.received[0].headers["accept-encoding"] == "identity"


@pytest.mark.parametrize("wbits", [15, -15])  # deflate as RFC 9110 says (zlib), and raw as some send
def test_deflate_is_decoded(srv, wbits):
    answer = json.dumps(b64_answer()).encode()
    srv.script("POST", GEN, encoded(zlib.compress(answer, 9, wbits=wbits), "deflate"))
    result, _ = run_once(spec_for(srv.url + "/v1"))
    assert result.data == png_bytes()


def test_a_gzip_bomb_stops_at_the_cap(srv):
    srv.script("POST", GEN, encoded(compressed_zeros(64 * MIB), "gzip"))
    exc, _ = run_once(spec_for(srv.url + "/v1", max_body_mb=1))
    assert exc.kind == OVERSIZE and "decoded" in str(exc)


@pytest.mark.parametrize("coding", ["gzip, gzip", "br", "zstd", "gzip, identity, deflate"])
def test_stacked_or_unknown_encodings_are_refused(srv, coding):
    srv.script("POST", GEN, encoded(gzip(compressed_zeros(64 * MIB)), coding))
    exc, attempts = run_once(spec_for(srv.url + "/v1", max_body_mb=1))
    assert exc.kind == BAD_RESPONSE and "Content-Encoding" in str(exc) and len(attempts) == 1


def _child(url: str, run_dir: str, max_body_mb: float) -> None:
    """In a subprocess: a warm-up variant, then a variant of bombs; print peak RSS before and after."""
    from evalsuite.endpoints import PROTOCOLS
    from evalsuite.endpoints.generator import EndpointItem, EndpointJob, run_endpoint
    from evalsuite.store.db import Store

    def peak_kib() -> int:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0])

    def run(path: str, name: str, n: int) -> None:
        store = Store(f"{run_dir}/results.sqlite")
        store.put_prompts((f"p{i}", f"prompt {i}", "t", i, "c", {}) for i in range(n))
        store.put_variant(name * 16, name, {"endpoint": {}})
        store.close()
        spec = spec_for(url + path, max_body_mb=max_body_mb, max_retries=0)
        items = tuple(EndpointItem(f"p{i}", f"prompt {i}", 0) for i in range(n))
        run_endpoint(EndpointJob(run_dir, name * 16, name, spec, 4, 3.5, 32, 16, items, f"images/{name}"),
                     PROTOCOLS["openai-images"]())

    run("/ok", "w", 2)  # imports, threads, sqlite and PIL all warmed up: the baseline peak
    before = peak_kib()
    run("/bomb", "b", 6)
    print(json.dumps({"before_kib": before, "after_kib": peak_kib()}))


def test_rss_stays_within_twice_the_cap_across_a_run_of_bombs(tmp_path):
    cap_mb = 4
    with FaultServer() as srv:
        srv.script("POST", "/ok/images/generations", json_reply(b64_answer()))
        inner = compressed_zeros(64 * MIB)
        srv.script("POST", "/bomb/images/generations", encoded(gzip(inner), "gzip, gzip"),
                   encoded(inner, "gzip"), encoded(compressed_zeros(64 * MIB, 15), "deflate"),
                   encoded(gzip(inner), "gzip,gzip"), encoded(inner, "x-gzip"), encoded(inner, "gzip"))
        code = (f"from tests.evalsuite.endpoints.test_bombs import _child; "
                f"_child({srv.url!r}, {str(tmp_path)!r}, {cap_mb})")
        proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                              timeout=hang_guard())
        bombs = sum(r.path == "/bomb/images/generations" for r in srv.received)
    assert proc.returncode == 0, proc.stderr
    peaks = json.loads(proc.stdout.strip().splitlines()[-1])
    grew_mib = (peaks["after_kib"] - peaks["before_kib"]) / 1024
    assert bombs == 5  # fail-fast stops a variant that never delivers, after 5 requests
    assert grew_mib <= 2 * cap_mb, f"peak RSS grew {grew_mib:.1f} MiB across {bombs} bombs"
