"""Shared bits of the endpoint tests: images, specs and one-request runs against a server."""

from __future__ import annotations

import asyncio
import base64
import functools
import io
import random
from typing import Any

import httpx
from PIL import Image

from evalsuite.endpoints import PROTOCOLS, ImageRequest, parse_endpoint
from evalsuite.endpoints.http import EndpointHTTP
from tests.conftest import hang_guard

KEY = "sk-test-0123456789abcdef"  # a fake key: tests check it never leaks
REQ = ImageRequest("a red cube", seed=7, steps=4, guidance=3.5, width=32, height=16)
CLIP_REQ = ImageRequest("a red cube rolling", seed=7, steps=4, guidance=5.0, width=32, height=16,
                        negative_prompt="blurry", frames=9, fps=8)


def png_bytes(width: int = 32, height: int = 16, value: int = 128) -> bytes:
    """A small, valid PNG."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (value, 64, 200)).save(buf, format="PNG")
    return buf.getvalue()


def mp4_clip(frames: int = 9, width: int = 32, height: int = 16, fps: int = 8) -> bytes:
    """A small, valid H.264 MP4: a bright square moving across a gradient (cached per shape)."""
    return _mp4_clip(frames, width, height, fps)


@functools.cache
def _mp4_clip(frames: int, width: int, height: int, fps: int) -> bytes:
    import numpy as np

    from evalsuite.store.clips import mp4_bytes

    ramp = np.linspace(40, 200, width, dtype=np.uint8)
    clip = np.empty((frames, height, width, 3), np.uint8)
    clip[:] = ramp[None, None, :, None]
    for i in range(frames):
        x = (i * 3) % max(1, width - 8)
        clip[i, 4:12, x:x + 8] = 250
    return mp4_bytes(clip, fps)


def b64_answer(data: bytes | None = None) -> dict[str, Any]:
    """An OpenAI-style answer carrying ``data`` (a PNG by default)."""
    return {"created": 1713833628, "data": [{"b64_json": base64.b64encode(data or png_bytes()).decode()}]}


def spec_for(url: str, protocol: str = "openai-images", **over: Any):
    """A spec with small limits, so fault tests stay quick."""
    # Generous limits: only the tests about timeouts set short ones (a loaded machine is slow).
    raw = {"protocol": protocol, "url": url, "timeout_s": hang_guard(), "max_retries": 3,
           "poll_interval_s": 0.01, "max_wait_s": hang_guard(), **over}
    return parse_endpoint(raw, PROTOCOLS)


class Sleeps:
    """Records the backoff waits and does not wait, so retry tests take no wall time."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def run_once(spec, key: str | None = KEY, req: ImageRequest = REQ, sleeps: Sleeps | None = None):
    """One protocol.generate; returns (result or the EndpointError, the attempts)."""
    protocol = PROTOCOLS[spec.protocol]()

    async def go():
        async with httpx.AsyncClient(follow_redirects=False) as client:
            http = EndpointHTTP(client, spec, key, protocol.auth_scheme, rng=random.Random(0),
                                sleep=sleeps or Sleeps())
            try:
                return await protocol.generate(http, spec, req), http.attempts
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                return exc, http.attempts

    return asyncio.run(asyncio.wait_for(go(), hang_guard()))


def endpoint_job(tmp_path, url: str, n: int = 4, **spec_over: Any):
    """A one-variant run folder with ``n`` prompts, and the endpoint job for them (32x16 images)."""
    from evalsuite.endpoints.generator import EndpointItem, EndpointJob
    from evalsuite.store.db import Store

    store = Store(tmp_path / "results.sqlite")
    store.put_prompts((f"p{i}", f"prompt {i}", "t", i, "c", {}) for i in range(n))
    store.put_variant("vid0000000000000", "ep", {"endpoint": {}})
    store.close()
    items = tuple(EndpointItem(f"p{i}", f"prompt {i}", 0) for i in range(n))
    return EndpointJob(str(tmp_path), "vid0000000000000", "ep", spec_for(url, **spec_over),
                       4, 3.5, 32, 16, items, "images/ep-vid00000")


def stored(tmp_path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the variant row, its sample rows) of an ``endpoint_job`` run folder, as dicts."""
    from dataclasses import asdict

    from evalsuite.store.db import Store

    with Store(tmp_path / "results.sqlite") as store:
        return asdict(store.variants()[0]), [asdict(r) for r in store.samples()]
