"""No part of the API key reaches disk or the terminal, whatever the server answers (issue 17, 5).

A canary key goes through a full ``evalsuite run``: a tiny local baseline and one endpoint
variant per protocol, each answering with every kind of reason a server can put text into
(provider errors, echoed bodies, content types, redirect targets, result URLs, bodies that
decode to the key, the seed probe, the variant's own failure). Then the run folder and the
output are searched for the key and for every 8-character piece of it, in any letter case.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
from pathlib import Path

import pytest

from tests.ahead import Ahead, runs_ahead
from tests.conftest import run_cli
from tests.evalsuite.endpoints.e2e import suite_text
from tests.evalsuite.endpoints.faultserver import FaultServer, Reply, json_reply
from tests.evalsuite.endpoints.helpers import b64_answer, png_bytes

CANARY = "sk-CANARY-q7Zx3Lm9Vb2Nw5Rt8Yp1"
PIECES = {CANARY[i:i + 8].lower() for i in range(len(CANARY) - 7)}


def leaks(text: bytes | str) -> list[str]:
    """The 8-character pieces of the canary found in ``text`` (case-insensitive)."""
    low = (text.decode("latin-1") if isinstance(text, bytes) else text).lower()
    return sorted(p for p in PIECES if p in low)


def test_redactor_removes_the_key_and_every_long_piece_of_it():
    from evalsuite.endpoints.redact import Redactor

    red = Redactor(CANARY)
    assert leaks(red(f"token {CANARY} and {CANARY[3:14]} and {CANARY[-9:].upper()}")) == []
    assert red("nothing secret here") == "nothing secret here"
    assert CANARY[:7] in red(f"a 7-character piece {CANARY[:7]} is not the key")
    assert Redactor(None)("no key: untouched") == "no key: untouched"
    assert "abcd" not in Redactor("abcd")("short key abcd")  # a short key is still removed whole


def _replicate_script(srv: FaultServer, url: str) -> None:
    ok = {"id": "p1", "status": "succeeded", "output": [f"{url}/files/ok.png"],
          "urls": {"get": f"{url}/poll/ok"}}
    data_uri = "data:image/png;base64," + base64.b64encode(CANARY.encode()).decode()
    srv.script("GET", "/files/ok.png", Reply(body=png_bytes(64, 64), content_type="image/png"))
    srv.script("GET", "/files/key.bin", Reply(body=CANARY.encode(), content_type="image/png"))
    srv.script("GET", "/r/poll/4",
               json_reply({"id": "p4", "status": "failed", "error": f"token {CANARY} revoked"}))
    srv.script("POST", "/r/models/o/m/predictions",
               json_reply(ok, 201),
               # issue 17's case: the provider echoes the Authorization header in its error
               json_reply({"status": "failed", "error": f"invalid token Bearer {CANARY}"}, 201),
               json_reply({"id": "p2", "status": "failed", "error": f"invalid token Bearer {CANARY}",
                           "urls": {"get": f"{url}/r/poll/2"}}, 201),
               json_reply({"detail": f"bad token Bearer {CANARY}"}, 401),
               json_reply({"id": "p4", "status": "starting", "urls": {"get": f"{url}/r/poll/4"}}, 201),
               json_reply({**ok, "output": [f"{url}/files/key.bin"]}, 201),
               json_reply({**ok, "output": [f"http://example.com/x?token={CANARY}"]}, 201),
               json_reply({**ok, "output": [data_uri]}, 201),
               json_reply(ok, 201, content_type=f"application/{CANARY}"))  # lower-cased in the reason


def _openai_script(srv: FaultServer, url: str) -> None:
    srv.script("POST", "/o/images/generations",
               json_reply(b64_answer(png_bytes(64, 64))),
               json_reply(b64_answer(CANARY.encode())),  # "not an image" quoted the first bytes
               json_reply(b64_answer(CANARY[:16].encode())),
               json_reply({"error": f"upstream rejected Bearer {CANARY}"}, 500),
               json_reply({"data": [{"url": f"http://example.com/img?key={CANARY}"}]}),
               Reply(302, headers=(("Location", f"http://example.com/{CANARY}"),)),
               json_reply({"data": [{"url": f"{url}/files/key.bin"}]}),
               Reply(body=b"{}", content_type=f"text/{CANARY}"),
               Reply(400, ("x" * 190 + CANARY).encode()))  # the 200-byte snippet cuts the key


def run_with_the_key(tmp: Path, env: dict[str, str]) -> tuple[Path, subprocess.CompletedProcess, int]:
    """A run with the canary key against the hostile server, in a fresh process (all it
    prints, logs included): the run folder, the process, and how many requests carried the
    key (a job started ahead)."""
    with FaultServer() as srv:
        _replicate_script(srv, srv.url)
        _openai_script(srv, srv.url)
        srv.script("POST", "/f/m", json_reply({"detail": f"Key {CANARY} is not valid"}, 403))
        text = suite_text([{"name": "rep", "protocol": "replicate", "url": srv.url + "/r", "model": "o/m"},
                           {"name": "oai", "protocol": "openai-images", "url": srv.url + "/o"},
                           {"name": "fal", "protocol": "fal-queue", "url": srv.url + "/f", "model": "m"}],
                          limit=8, seeds=(0, 1))
        (tmp / "suite.toml").write_text(text)
        proc = run_cli("run", str(tmp / "suite.toml"), "--out", str(tmp / "run"),
                       env={**env, "HOSTILE_KEY": CANARY})
        sent = [r for r in srv.received if r.headers.get("authorization", "").endswith(CANARY)]
    return tmp / "run", proc, len(sent)


@pytest.mark.slow
@runs_ahead(run_with_the_key)
def test_no_piece_of_the_key_reaches_disk_or_output(ahead: Ahead) -> None:
    out, proc, sent = ahead(run_with_the_key)
    assert proc.returncode == 3, proc.stderr  # the fal variant failed, the others finished
    assert sent >= 9 + 9 + 5  # the key did go to the server, the answers did come back
    assert (out / "summary.json").is_file() and (out / "report" / "index.html").is_file()
    assert leaks(proc.stdout + proc.stderr) == [], proc.stderr
    for path in sorted(out.rglob("*")):
        if path.is_file():
            assert leaks(path.read_bytes()) == [], path


def test_a_reason_from_any_exception_is_redacted(tmp_path, monkeypatch):
    """A protocol that raises anything with the key in its message: the stored reason is clean."""
    from evalsuite.endpoints.base import Protocol
    from evalsuite.endpoints.generator import run_endpoint
    from tests.evalsuite.endpoints.helpers import endpoint_job, stored

    class Leaky(Protocol):
        name, description = "leaky", "raises with the key in its message"

        def accepted(self, spec):
            return {}

        async def generate(self, http, spec, req):
            await asyncio.sleep(0)
            raise ValueError(f"could not parse {CANARY}")

    monkeypatch.setenv("EP_KEY", CANARY)
    out = run_endpoint(endpoint_job(tmp_path, "http://127.0.0.1:9/v1", n=5, api_key_env="EP_KEY"), Leaky())
    variant, samples = stored(tmp_path)
    assert out.failed and leaks(out.reason) == [] and leaks(variant["error"]) == []
    assert all(s["status"] == "failed" and leaks(s["reason"]) == [] for s in samples)
    assert all(s["reason"].startswith("bad_response:") for s in samples)
    assert leaks((tmp_path / "results.sqlite").read_bytes()) == []
