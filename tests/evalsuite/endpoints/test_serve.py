"""``evalsuite serve``: request validation, real generations, overflow and a small load test."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import io
import json
import sys

import httpx
import numpy as np
import pytest
from PIL import Image

from evalsuite.run.serve import parse_generation
from evalsuite.suite.types import ModelSpec
from tests.conftest import REPO, hang_guard


def _bench():
    spec = importlib.util.spec_from_file_location("serve_load", REPO / "bench" / "serve_load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["serve_load"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def server():
    bench = _bench()
    proc, url = bench.start_serve(max_queue=2, startup_s=hang_guard())
    try:
        yield bench, url
    finally:
        proc.terminate()
        proc.wait(hang_guard())


def test_parse_generation_fields_and_errors():
    prompt, seed, model = parse_generation({"prompt": "x", "seed": 5, "size": "32x48",
                                            "num_inference_steps": 3, "guidance_scale": 2}, ModelSpec())
    assert (prompt, seed, model.width, model.height, model.steps, model.guidance) == ("x", 5, 32, 48, 3, 2.0)
    for bad in ({"prompt": ""}, {"prompt": "x", "n": 2}, {"prompt": "x", "size": "33x32"},
                {"prompt": "x", "seed": -1}, {"prompt": "x", "response_format": "url"},
                {"prompt": "x", "num_inference_steps": 2.5}, [1]):
        with pytest.raises(ValueError):
            parse_generation(bad, ModelSpec())


def _image(url: str, seed: int) -> tuple[bytes, dict]:
    resp = httpx.post(f"{url}/images/generations", timeout=hang_guard(),
                      json={"prompt": "a red cube", "seed": seed, "size": "32x48", "num_inference_steps": 2})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return base64.b64decode(body["data"][0]["b64_json"]), body


def test_generations_honour_seed_and_size(server):
    _, url = server
    first, body = _image(url, 1)
    again, _ = _image(url, 1)
    other, _ = _image(url, 2)
    img = Image.open(io.BytesIO(first))
    assert img.size == (32, 48) and img.format == "PNG"
    assert first == again and first != other
    assert body["seed"] == 1 and body["timings"]["inference_s"] > 0 and body["timings"]["queue_s"] >= 0


def test_bad_request_is_a_400_with_a_reason(server):
    _, url = server
    resp = httpx.post(f"{url}/images/generations", json={"prompt": "x", "size": "7x7"}, timeout=hang_guard())
    assert resp.status_code == 400 and "size" in resp.json()["error"]["message"]
    resp = httpx.post(f"{url}/images/generations", content=b"not json", timeout=hang_guard())
    assert resp.status_code == 400


def test_load_at_1_4_16_accounts_for_every_request(server):
    bench, url = server
    body = {"prompt": "a red cube", "size": "32x32", "num_inference_steps": 2}
    for concurrency in (1, 4, 16):
        result = asyncio.run(bench.load_level(url, concurrency, max(4, concurrency), body, hang_guard()))
        assert result.accounted, result
        assert set(result.outcomes) <= {"200", "429"}, result  # the bounded queue says 429, never fails
        assert result.outcomes.get("200", 0) >= 1 and result.p99_s is not None
    assert bench.healthy(url, hang_guard())
    arr = np.asarray(Image.open(io.BytesIO(_image(url, 3)[0])))
    assert arr.shape == (48, 32, 3)  # still serving real images after the load


SUITE = """
name = "serve-e2e"
baseline = "local"
[model]
id = "tiny"
device = "cpu"
steps = 4
height = 32
width = 48
[prompts]
sets = ["smoke"]
limit = 2
seeds = [0, 1]
[run]
warmup = 0
[metrics]
use = ["psnr"]
[[variant]]
name = "local"
[[variant]]
name = "served"
[variant.endpoint]
protocol = "openai-images"
url = "{url}"
model = "tiny"
concurrency = 2
api_key_env = "EP_E2E_KEY"
price_per_image = 0.002
"""


@pytest.mark.slow
def test_endpoint_images_equal_local_ones_through_the_cli(server, tmp_path, monkeypatch):
    """serve + a suite with a local baseline and an openai-images variant: identical pixels."""
    from tests.conftest import run_cli_here

    _, url = server
    secret = "sk-e2e-do-not-leak-4242"
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.format(url=url))
    out = tmp_path / "run"
    monkeypatch.setenv("EP_E2E_KEY", secret)
    # In process: test_redaction checks what a fresh process prints for keys.
    proc = run_cli_here("run", str(suite), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    local = sorted((out / "images").glob("local-*/*.png"))
    served = sorted((out / "images").glob("served-*/*.png"))
    assert len(local) == len(served) == 4
    for a, b in zip(local, served, strict=True):
        assert a.name == b.name
        assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b))), a.name
    summary = json.loads((out / "summary.json").read_text())
    served_entry = next(v for v in summary["variants"] if v["name"] == "served")
    assert served_entry["metrics"]["psnr"]["mean"] == 100.0  # identical images: the PSNR cap
    manifest = json.loads((out / "manifest.json").read_text())
    probe = manifest["endpoints"]["served"]["seed_probe"]
    assert probe["seed_honoured"] is True and manifest["endpoints"]["served"]["accepted"]["seed"]
    # the key is nowhere in the run folder or the output
    for path in out.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert secret not in proc.stdout + proc.stderr
