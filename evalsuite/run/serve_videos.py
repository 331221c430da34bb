"""``evalsuite serve`` for a video family: the async ``/v1/videos`` API of SGLang Diffusion and
vLLM-Omni (the ``openai-videos`` and ``openai-videos-form`` protocols).

``POST /v1/videos`` validates the request, admits it as a job and answers its record at once
(``id``, ``object`` "video", ``status`` "queued", ...); the clip is generated on the server's
one generation thread, behind any images or clips admitted earlier. ``GET /v1/videos/{id}``
answers the record ("queued", "in_progress", then "completed" with ``inference_time_s`` and
``cache``, the denoiser calls as the image route reports them, or "failed" with
``error.message``); ``GET /v1/videos/{id}/content`` answers the H.264 MP4 once
completed and 404 before, as SGLang does. The create call takes a JSON body (SGLang) or
``multipart/form-data`` fields (vLLM-Omni), the same names either way.

The job table is bounded: at most ``max_queue`` jobs queued or generating (more get 429 with
a Retry-After estimate), and at most :data:`KEEP_FINISHED` finished ones, oldest forgotten
first (their record and content then answer 404). A client polls a job to its end and fetches
it promptly; nothing grows without limit however many jobs are sent.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
import math
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evalsuite.suite.types import ModelSpec

KEEP_FINISHED = 32  # finished jobs kept for their record and content
MAX_FPS = 240


@dataclass
class VideoJob:
    """One clip request and where it stands."""

    id: str
    prompt: str
    seed: int
    model: ModelSpec
    created_at: int
    status: str = "queued"  # queued, in_progress, completed, failed
    content: bytes | None = None
    inference_s: float | None = None
    queue_s: float | None = None
    cache: dict[str, Any] | None = None  # the denoiser calls, as the image route reports them
    error: str | None = None
    completed_at: int | None = None

    def record(self, served: str) -> dict[str, Any]:
        """The job as the API answers it (OpenAI's video object plus the engines' extensions)."""
        out: dict[str, Any] = {
            "id": self.id, "object": "video", "model": served, "status": self.status,
            "progress": 100 if self.status == "completed" else 0, "created_at": self.created_at,
            "completed_at": self.completed_at, "size": f"{self.model.width}x{self.model.height}",
            "seconds": str(max(1, round((self.model.frames or 0) / (self.model.fps or 1)))),
            "num_frames": self.model.frames, "fps": self.model.fps, "seed": self.seed,
            "inference_time_s": self.inference_s, "queue_time_s": self.queue_s, "cache": self.cache}
        out["error"] = {"code": 500, "message": self.error} if self.error else None
        return out


@dataclass
class JobTable:
    """The server's jobs: those still running, and the last :data:`KEEP_FINISHED` finished ones."""

    max_active: int
    keep_finished: int = KEEP_FINISHED
    jobs: OrderedDict[str, VideoJob] = field(default_factory=OrderedDict)
    finished: OrderedDict[str, None] = field(default_factory=OrderedDict)  # oldest first

    def active(self) -> int:
        """Jobs queued or generating."""
        return len(self.jobs) - len(self.finished)

    def add(self, job: VideoJob) -> None:
        self.jobs[job.id] = job

    def finish(self, job: VideoJob) -> None:
        """Mark ``job`` finished, forgetting the oldest finished jobs beyond the bound."""
        self.finished[job.id] = None
        while len(self.finished) > self.keep_finished:
            old, _ = self.finished.popitem(last=False)
            self.jobs.pop(old, None)


def parse_form(body: bytes, content_type: str) -> dict[str, Any]:
    """Multipart form fields as a dict of strings (the standard library's MIME parser); numbers
    are read back from their text, as vLLM-Omni's ``Form`` parameters read them."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("body: expected multipart/form-data fields")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename() is not None:
            raise ValueError("body: only plain form fields are served (no files)")
        text = part.get_content()
        try:
            value = json.loads(text)
            fields[name] = value if isinstance(value, int | float) and not isinstance(value, bool) else text
        except ValueError:
            fields[name] = text
    return fields


def parse_video(body: Any, base: ModelSpec,
                parse_generation: Callable[..., Any]) -> tuple[str, int, ModelSpec]:
    """(prompt, seed, settings) of a create call: the image fields (``parse_generation``, serve's
    own) plus ``num_frames`` and ``fps``; ValueError names the field."""
    from evalsuite.models.families import family_of

    if not isinstance(body, dict):
        raise ValueError("body: expected a JSON object or form fields")
    if body.get("seconds") is not None:
        raise ValueError("seconds: give num_frames (and fps) instead; a duration would not fit "
                         "the family's frame counts")
    if body.get("input_reference") is not None:
        raise ValueError("input_reference: only text-to-video is served")
    prompt, seed, model = parse_generation({k: v for k, v in body.items() if k not in ("num_frames", "fps",
                                                                                       "model")}, base)
    settings = {}
    for key, name in (("num_frames", "frames"), ("fps", "fps")):
        value = body.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key}: expected a positive integer")
            settings[name] = value
    if settings.get("fps", 1) > MAX_FPS:
        raise ValueError(f"fps: at most {MAX_FPS}")
    if "frames" in settings and (why := family_of(base).check_frames(settings["frames"])) is not None:
        raise ValueError(f"num_frames: {why}")
    return prompt, seed, replace(model, **settings)


def video_routes(runner: Any, executor: Executor, table: JobTable, served: str,
                 authorised: Callable[[Request], bool], bad: Callable[..., JSONResponse],
                 parse_generation: Callable[..., Any]) -> list[Route]:
    """The ``/v1/videos`` routes over ``runner.run_clip`` on ``executor`` (serve's one generation
    thread); ``authorised``, ``bad`` and ``parse_generation`` are serve's own."""
    tasks: set[asyncio.Task] = set()  # held so a running job is never garbage-collected
    busy = {"served": 0, "busy_s": 0.0}

    def work(job: VideoJob, enqueued: float) -> tuple[bytes, float, float, dict[str, Any]]:
        job.status = "in_progress"
        queue_s = time.perf_counter() - enqueued
        mp4, inference_s, cache = runner.run_clip(job.prompt, job.seed, job.model)
        return mp4, queue_s, inference_s, cache

    async def run(job: VideoJob) -> None:
        try:
            job.content, job.queue_s, job.inference_s, job.cache = \
                await asyncio.get_running_loop().run_in_executor(executor, work, job, time.perf_counter())
            job.status = "completed"
            busy["served"] += 1
            busy["busy_s"] += job.inference_s
        except Exception as exc:  # noqa: BLE001 - the job says why, the server stays up
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        job.completed_at = int(time.time())
        table.finish(job)

    async def create(request: Request) -> JSONResponse:
        if not authorised(request):
            return bad("missing or wrong API key", 401)
        try:
            ctype = request.headers.get("content-type", "")
            raw = await request.body()
            body = parse_form(raw, ctype) if ctype.startswith("multipart/") else json.loads(raw)
            prompt, seed, model = parse_video(body, runner.config.model, parse_generation)
        except ValueError as exc:  # includes a body that is not JSON
            return bad(str(exc).splitlines()[0])
        except RecursionError:  # JSON nested deeper than the parser recurses
            return bad("body: JSON nested too deeply")
        if table.active() >= table.max_active:
            mean = busy["busy_s"] / busy["served"] if busy["served"] else 1.0
            wait = max(1, math.ceil(mean * table.active()))
            return bad(f"queue full ({table.max_active} jobs admitted)", 429, {"Retry-After": str(wait)})
        job = VideoJob(f"video_{uuid.uuid4().hex}", prompt, seed, model, int(time.time()))
        table.add(job)
        task = asyncio.ensure_future(run(job))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return JSONResponse(job.record(served))

    def found(request: Request) -> VideoJob | JSONResponse:
        if not authorised(request):
            return bad("missing or wrong API key", 401)
        job = table.jobs.get(request.path_params["video_id"])
        return job if job is not None else bad("Video not found", 404)

    async def retrieve(request: Request) -> JSONResponse:
        job = found(request)
        return job if isinstance(job, JSONResponse) else JSONResponse(job.record(served))

    async def content(request: Request) -> Response:
        job = found(request)
        if isinstance(job, JSONResponse):
            return job
        if job.status != "completed" or job.content is None:
            return bad(f"Generation is {job.status.replace('_', ' ')}", 404)
        return Response(job.content, media_type="video/mp4")

    return [Route("/v1/videos", create, methods=["POST"]), Route("/v1/videos/{video_id}", retrieve),
            Route("/v1/videos/{video_id}/content", content)]
