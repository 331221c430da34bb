"""``evalsuite serve --model tiny-wan``: the async ``/v1/videos`` API with a real tiny Wan, a run
of the ``openai-videos`` protocols against it, and its bounded job table (issue 20, 6)."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from evalsuite.run.serve import PipelineRunner, build_app, config_from_args, parse_generation
from evalsuite.run.serve_videos import JobTable, VideoJob, parse_video
from evalsuite.suite.types import ModelSpec
from tests.conftest import hang_guard, run_cli_here

SUITE = """
name = "served-video"
baseline = "json"
[model]
id = "tiny-wan"
steps = 2
device = "cpu"
[prompts]
sets = ["video_smoke"]
limit = 1
seeds = [0]
[run]
warmup = 0
drift_images = 0
trace_images = 0
[metrics]
use = ["psnr_video", "psnr_video_worst"]
[[variant]]
name = "json"
endpoint = {{ protocol = "openai-videos", url = "{url}", poll_interval_s = 0.02 }}
[[variant]]
name = "form"
endpoint = {{ protocol = "{form}", url = "{url}", poll_interval_s = 0.02 }}
"""


# Mean PSNR over nine frames capped at 100 dB: eight identical and one at 28 dB gives 92 dB;
# two frames off fall below 90 (two at 38 dB: 86 dB), a whole other clip below 30 dB.
AT_MOST_ONE_FRAME_OFF_DB = 90.0


@pytest.fixture(scope="module")
def runner() -> PipelineRunner:
    """tiny-wan loaded once, as ``evalsuite serve --model tiny-wan --max-queue 2`` loads it."""
    return PipelineRunner(config_from_args("tiny-wan", None, None, "cpu", 2, 0, None))


@pytest.fixture
def served(runner: PipelineRunner) -> Iterator[str]:
    """The server's app on a loopback port (uvicorn, in a thread); its base URL."""
    import uvicorn

    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(build_app(runner), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(hang_guard())


def test_a_run_gets_clips_from_the_served_model_over_both_encodings(tmp_path, served):
    import json

    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.format(url=served, form="openai-videos-form"))
    proc = run_cli_here("run", str(suite), "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    by_name = {v["name"]: v for v in summary["variants"]}
    assert all(v["status"] == "ok" and v["samples"]["ok"] == 1 for v in by_name.values())
    # The same seed and settings sent as JSON and as form fields: the same clip, every frame
    # identical (PSNR at its cap) in all but 2 of 11 loaded runs. In those two, on a loaded
    # machine and after the tests before it in this process, one frame of the nine came back
    # at 38 dB and the other eight identical (mean 93.1 dB); it was not reproduced alone: 30
    # served generations under load, byte-identical; 150 concurrent decodes, identical. A field
    # the form lost changes every frame (measured worst frames: seed 21 dB, steps 28 dB,
    # guidance 24 dB, prompt 24 dB), so at most one frame in nine may differ, not more.
    form = by_name["form"]["metrics"]
    assert form["psnr_video"]["mean"] >= AT_MOST_ONE_FRAME_OFF_DB, form
    assert by_name["form"]["endpoint"]["seed_probe"]["seed_honoured"] is True
    assert by_name["form"]["steps"]["computed"] == 4  # the server's count: 2 steps x 2 guidance streams
    assert len(list((tmp_path / "run" / "images").rglob("*.mp4"))) == 2


def test_an_image_protocol_for_a_video_model_is_refused_before_anything_runs(tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.format(url="http://127.0.0.1:9/v1", form="openai-images"))
    proc = run_cli_here("run", str(suite), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "variant.form.endpoint.protocol: openai-images delivers images and tiny-wan makes clips " \
           "(use openai-videos, openai-videos-form)" in proc.stderr
    assert not (tmp_path / "run").exists()


RUNNING = ("queued", "in_progress")


class Gated:
    """The runner, holding each clip until the test opens the gate: admission is then decided
    by the job table alone, never by how fast this machine generates."""

    def __init__(self, runner: PipelineRunner) -> None:
        self.runner, self.config, self.family = runner, runner.config, runner.family
        self.makes_clips = True
        self.gate = threading.Event()

    def run_clip(self, prompt: str, seed: int, model: ModelSpec) -> tuple[bytes, float]:
        assert self.gate.wait(hang_guard())
        return self.runner.run_clip(prompt, seed, model)


def test_overflow_gets_429_and_every_admitted_job_completes(runner):
    from evalsuite.endpoints.clips import decode_clip

    gated = Gated(runner)
    body = {"prompt": "a red cube rolling", "seed": 3, "num_inference_steps": 2, "num_frames": 5}

    async def go() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=build_app(gated))
        async with httpx.AsyncClient(transport=transport, base_url="http://serve/v1") as client:
            created = await asyncio.gather(*(client.post("/videos", json=body) for _ in range(5)))
            ids = [r.json()["id"] for r in created if r.status_code == 200]
            early = await client.get(f"/videos/{ids[-1]}/content")
            gated.gate.set()
            done = []
            for vid in ids:
                while (job := (await client.get(f"/videos/{vid}")).json())["status"] in RUNNING:
                    await asyncio.sleep(0.02)
                done.append((job, (await client.get(f"/videos/{vid}/content")).content))
            nested = await client.post("/videos", content=b"[" * 200_000,
                                       headers={"content-type": "application/json"})
            return {"created": created, "early": early, "done": done, "nested": nested,
                    "unknown": await client.get("/videos/video_nope"),
                    "images": await client.post("/images/generations", json={"prompt": "x"})}

    try:
        out = asyncio.run(asyncio.wait_for(go(), hang_guard()))
    finally:
        gated.gate.set()
    codes = sorted(r.status_code for r in out["created"])
    assert codes == [200, 200, 429, 429, 429]  # max_queue = 2 admitted at once
    assert all(int(r.headers["retry-after"]) >= 1 for r in out["created"] if r.status_code == 429)
    assert out["early"].status_code == 404 and "queued" in out["early"].json()["error"]["message"]
    for job, mp4 in out["done"]:
        assert job["status"] == "completed" and job["inference_time_s"] > 0 and job["num_frames"] == 5
        assert decode_clip(mp4, 5, 32, 32).frames.shape == (5, 32, 32, 3)
    assert out["unknown"].status_code == 404 and out["images"].status_code == 404
    assert out["nested"].status_code == 400 and "nested too deeply" in out["nested"].text


def test_the_job_table_forgets_the_oldest_finished_jobs_first():
    table = JobTable(max_active=2, keep_finished=2)
    jobs = [VideoJob(f"v{i}", "p", 0, ModelSpec(), 0) for i in range(4)]
    for job in jobs:
        table.add(job)
    assert table.active() == 4  # admission is the server's check; the table only counts
    for job in jobs:
        table.finish(job)
    assert list(table.jobs) == ["v2", "v3"] and table.active() == 0


def test_create_fields_are_checked_and_named():
    wan = ModelSpec(id="tiny-wan", family="wan", width=32, height=32, frames=9, fps=16)
    _, seed, model = parse_video({"prompt": "x", "seed": 4, "num_frames": 13, "fps": 8, "size": "48x32",
                                  "model": "anything"}, wan, parse_generation)
    assert (seed, model.frames, model.fps, model.width) == (4, 13, 8, 48)
    for bad, field in (({"prompt": "x", "num_frames": 6}, r"num_frames: Wan 2.1 makes 4k\+1 frames"),
                       ({"prompt": "x", "num_frames": "9"}, "num_frames: expected a positive integer"),
                       ({"prompt": "x", "fps": 0}, "fps: expected a positive integer"),
                       ({"prompt": "x", "seconds": 4}, "seconds: give num_frames"),
                       ({"prompt": "x", "input_reference": "a.png"}, "input_reference: only text-to-video"),
                       ({"prompt": ""}, "prompt: expected a non-empty string"), ([1], "body:")):
        with pytest.raises(ValueError, match=field):
            parse_video(bad, wan, parse_generation)


def test_the_served_mp4_plays_the_clip_the_pipeline_made(runner):
    import av

    model = runner.config.model
    mp4, seconds, cache = runner.run_clip("a red cube", 1, ModelSpec(**{**model.__dict__, "steps": 2}))
    assert cache == {"steps_computed": 4, "steps_skipped": 0}  # 2 steps x 2 guidance streams
    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.average_rate == model.fps
        assert sum(1 for _ in container.decode(stream)) == model.frames and seconds > 0
