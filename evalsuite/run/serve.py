"""``python -m evalsuite serve``: a pipeline behind an OpenAI-compatible image (or video) endpoint.

A thin ASGI app (Starlette on uvicorn) around the same pipeline loading, accelerators and
timed generation the worker uses, so a team can benchmark its own deployment and the
tests get a real server. ``POST /v1/images/generations`` takes the ``openai-images``
protocol's fields and answers ``b64_json`` PNGs, with ``seed``, ``timings`` (queue and
inference seconds) and ``cache`` (the generation's denoiser calls: ``steps_computed`` and
``steps_skipped``, counted as the sweep's worker counts them) as extension fields. A video
family (``--model tiny-wan``) is served on the async ``/v1/videos`` API instead
(:mod:`evalsuite.run.serve_videos`).

Generation runs on one worker thread, off the event loop (a pipeline is not safe to call
from two threads at once). Requests beyond that queue up to ``max_queue`` admitted at a
time; more get 429 with a Retry-After estimate, so overload is visible, never a hang.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import math
import os
import re
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from evalsuite.errors import UserError
from evalsuite.suite.types import AcceleratorUse, ModelSpec

MAX_REQUEST_BYTES = 1 << 20  # a prompt and a few numbers; anything bigger is refused
_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


@dataclass(frozen=True)
class ServeConfig:
    """What ``serve`` runs: the model, one variant's accelerators, and the queue bound."""

    model: ModelSpec
    device: str
    accelerators: tuple[AcceleratorUse, ...] = ()
    max_queue: int = 8  # requests admitted at once (generating + waiting)
    warmup: int = 1
    name: str = "evalsuite"  # the model name /v1/models reports
    api_key: str | None = None  # when set, requests need "Authorization: Bearer <key>"


class PipelineRunner:
    """The loaded pipeline with its accelerators; ``run`` is called from one thread only."""

    def __init__(self, config: ServeConfig) -> None:
        import diffusers
        import transformers

        from evalsuite.models.pipeline import apply_accelerators, generate, load_pipeline
        from evalsuite.models.steps import DenoiserSteps

        # Loading bars would bury the one line that says the server is up.
        diffusers.utils.logging.disable_progress_bar()
        transformers.utils.logging.disable_progress_bar()
        self.config = config
        self._generate = generate
        self.pipe = load_pipeline(config.model, config.device)
        self.family, self.applied = apply_accelerators(self.pipe, config.model, config.accelerators)
        self.steps = DenoiserSteps(self.pipe, self.family, self.applied)
        for _ in range(config.warmup):  # compile and caches warm up before the first request
            generate(self.pipe, config.model, config.device, "a photo of a cat", 0, self.family)
        for a in self.applied:
            a.warmed_up()
        self.steps.forget_warmup()

    @property
    def makes_clips(self) -> bool:
        """Whether the served family makes clips (served on ``/v1/videos``) rather than images."""
        return self.family.output == "video"

    def run(self, prompt: str, seed: int, model: ModelSpec) -> tuple[bytes, float, dict[str, int]]:
        """(PNG bytes, inference seconds, the generation's denoiser calls) for one request.

        The calls are counted as the sweep's worker counts them (:mod:`evalsuite.models.steps`):
        a client compares a served cache with its local twin at equal work.
        """
        self.steps.reset()
        gen = self._generate(self.pipe, model, self.config.device, prompt, seed, self.family)
        counted = self.steps.counts()
        buf = io.BytesIO()
        gen.image.save(buf, format="PNG")
        return buf.getvalue(), gen.latency_s, {"steps_computed": counted.computed,
                                               "steps_skipped": counted.skipped}

    def run_clip(self, prompt: str, seed: int, model: ModelSpec) -> tuple[bytes, float, dict[str, Any]]:
        """(H.264 MP4 bytes encoded as a run stores them, inference seconds, the denoiser calls
        as :meth:`run` counts them, with each expert's where a model has several) for one clip."""
        from evalsuite.store.clips import mp4_bytes

        self.steps.reset()
        gen = self._generate(self.pipe, model, self.config.device, prompt, seed, self.family)
        counted = self.steps.counts()
        if gen.frames is None:
            raise RuntimeError(f"{self.family.title} made an image, not a clip")
        cache: dict[str, Any] = {"steps_computed": counted.computed, "steps_skipped": counted.skipped}
        if counted.experts:
            cache["experts"] = {name: {"steps_computed": c, "steps_skipped": k}
                                for name, (c, k) in counted.experts.items()}
        return mp4_bytes(gen.frames, model.fps or 1), gen.latency_s, cache


def _bad(message: str, status: int = 400, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status, headers)


def parse_generation(body: Any, base: ModelSpec) -> tuple[str, int, ModelSpec]:
    """(prompt, seed, generation settings) from a request body; ValueError names the field.

    Guidance comes under the served family's name for it (``guidance_scale``, or Qwen-Image's
    ``true_cfg_scale``), and ``negative_prompt`` where the family takes one, as SGLang
    Diffusion and vLLM-Omni accept them; a field the family would ignore is refused, not dropped.
    """
    from evalsuite.models.families import family_of

    family = family_of(base)
    if not isinstance(body, dict):
        raise ValueError("body: expected a JSON object")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("prompt: expected a non-empty string")
    if body.get("n", 1) != 1:
        raise ValueError("n: only n = 1 is served")
    if body.get("response_format", "b64_json") != "b64_json":
        raise ValueError("response_format: only b64_json is served")
    settings = {}
    size = body.get("size")
    if size is not None:
        m = _SIZE.match(str(size))
        if not m or int(m[1]) % 16 or int(m[2]) % 16:
            raise ValueError("size: expected WIDTHxHEIGHT, both multiples of 16")
        settings.update(width=int(m[1]), height=int(m[2]))
    if family.guidance_name != "guidance_scale" and body.get("guidance_scale") is not None:
        raise ValueError(f"guidance_scale: {family.title} takes its guidance as {family.guidance_name}")
    fields = (("num_inference_steps", "steps", int), (family.guidance_name, "guidance", float))
    for key, field, kind in fields:
        value = body.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and
                                                                                not isinstance(value, int)):
                raise ValueError(f"{key}: expected a number")
            settings[field] = kind(value)
    if settings.get("steps", 1) < 1 or settings.get("steps", 1) > 1000 or settings.get("guidance", 0) < 0:
        raise ValueError(f"num_inference_steps must be 1..1000 and {family.guidance_name} >= 0")
    negative = body.get("negative_prompt")
    if negative is not None:
        if not isinstance(negative, str):
            raise ValueError("negative_prompt: expected a string")
        if not family.takes_negative_prompt:
            raise ValueError(f"negative_prompt: {family.title} takes no negative prompt")
        settings["negative_prompt"] = negative
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError("seed: expected a non-negative integer")
    return prompt, seed, replace(base, **settings)


def build_app(runner: PipelineRunner) -> Starlette:
    """The ASGI app; ``runner`` does the generation on a single worker thread."""
    config = runner.config
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalsuite-generate")
    state = {"admitted": 0, "served": 0, "busy_s": 0.0}
    lock = threading.Lock()

    def work(prompt: str, seed: int, model: ModelSpec, enqueued: float
             ) -> tuple[bytes, float, float, dict[str, int]]:
        queue_s = time.perf_counter() - enqueued
        png, inference_s, cache = runner.run(prompt, seed, model)
        with lock:
            state["served"] += 1
            state["busy_s"] += inference_s
        return png, queue_s, inference_s, cache

    def authorised(request: Request) -> bool:
        return not config.api_key or request.headers.get("authorization") == f"Bearer {config.api_key}"

    async def generations(request: Request) -> JSONResponse:
        if not authorised(request):
            return _bad("missing or wrong API key", 401)
        if runner.makes_clips:
            return _bad(f"{runner.family.title} makes clips: request them with POST /v1/videos", 404)
        try:
            prompt, seed, model = parse_generation(await request.json(), config.model)
        except ValueError as exc:  # includes a body that is not JSON
            return _bad(str(exc).splitlines()[0])
        if state["admitted"] >= config.max_queue:
            mean = state["busy_s"] / state["served"] if state["served"] else 1.0
            wait = max(1, math.ceil(mean * state["admitted"]))
            return _bad(f"queue full ({config.max_queue} requests admitted)", 429, {"Retry-After": str(wait)})
        state["admitted"] += 1  # the event loop is single-threaded: no lock needed here
        try:
            png, queue_s, inference_s, cache = await asyncio.get_running_loop().run_in_executor(
                executor, work, prompt, seed, model, time.perf_counter())
        except Exception as exc:  # noqa: BLE001 - the client gets the reason, the server stays up
            return JSONResponse({"error": {"message": f"{type(exc).__name__}: {exc}"[:500],
                                           "type": "server_error"}}, 500)
        finally:
            state["admitted"] -= 1
        return JSONResponse({"created": int(time.time()), "seed": seed,
                             "data": [{"b64_json": base64.b64encode(png).decode()}],
                             "timings": {"queue_s": queue_s, "inference_s": inference_s},
                             "cache": cache})

    async def models(_: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": config.name, "object": "model"}]})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "admitted": state["admitted"], "served": state["served"]})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    routes = [Route("/v1/images/generations", generations, methods=["POST"]), Route("/v1/models", models),
              Route("/health", health)]
    if runner.makes_clips:
        from evalsuite.run.serve_videos import JobTable, video_routes

        routes += video_routes(runner, executor, JobTable(config.max_queue), config.name, authorised, _bad,
                               parse_generation)
    return Starlette(routes=routes, lifespan=lifespan, max_body_size=MAX_REQUEST_BYTES)


def config_from_args(model: str | None, suite_ref: str | None, variant: str | None, device: str | None,
                     max_queue: int, warmup: int, api_key_env: str | None) -> ServeConfig:
    """A ServeConfig from the CLI's arguments; UserError on bad ones."""
    from evalsuite.accelerators.base import to_calibrate
    from evalsuite.models.families.resolve import RESOLVER
    from evalsuite.suite.overrides import effective_model
    from evalsuite.suite.spec import load_suite

    accelerators: tuple[AcceleratorUse, ...] = ()
    if suite_ref is not None:
        suite = load_suite(suite_ref, RESOLVER)  # family, defaults and fit checked here
        spec, name = suite.model, suite.name
        if variant is not None:
            found = next((v for v in suite.variants if v.name == variant), None)
            if found is None:
                raise UserError(f"--variant: no variant {variant!r} in {suite.source} "
                                f"(variants: {', '.join(v.name for v in suite.variants)})")
            if getattr(found, "endpoint", None) is not None:
                raise UserError(f"--variant: {variant!r} is an endpoint variant; serve runs local ones")
            accelerators = found.accelerators
            spec = effective_model(spec, found)  # the variant's own steps, guidance and size
            name = f"{suite.name}/{variant}"
        if model is not None and model != spec.id:
            raise UserError("--model: give either --model or --suite (the suite names its model)")
    else:
        if variant is not None:
            raise UserError("--variant needs --suite")
        try:  # every tiny id, a folder or a hub id: its family and the family's defaults
            spec = RESOLVER.resolve(ModelSpec(id=model or "tiny"), {"id"})
        except ValueError as exc:
            raise UserError(f"--model: {str(exc).splitlines()[0]}") from None
        name = model or "tiny"
    if any(a.name == "context_parallel" for a in accelerators):
        raise UserError("--variant: context-parallel variants need torchrun; serve runs one process")
    if fitted := next((a.name for a in accelerators if to_calibrate(a.name, dict(a.params))), None):
        raise UserError(f'--variant: its {fitted} is "calibrate", fitted in a run; serve it with the '
                        "numbers a run fitted (`evalsuite recommend RUN` prints them) in the suite")
    if max_queue < 1 or warmup < 0:
        raise UserError("--max-queue must be >= 1 and --warmup >= 0")
    key = None
    if api_key_env is not None:
        key = os.environ.get(api_key_env)
        if not key:
            raise UserError(f"--api-key-env: environment variable {api_key_env} is not set")
    from evalsuite.run.world import resolve_device

    return ServeConfig(spec, resolve_device(device or spec.device), accelerators, max_queue, warmup,
                       name, key)


def serve(config: ServeConfig, host: str, port: int) -> None:
    """Load the pipeline, bind, print the base URL, and serve until interrupted."""
    import uvicorn

    try:
        sock = socket.create_server((host, port))
    except OSError as exc:
        raise UserError(f"--host/--port: cannot listen on {host}:{port} ({exc.strerror})") from None
    runner = PipelineRunner(config)  # load before announcing: "serving on" means ready
    bound = sock.getsockname()[1]
    print(f"serving {config.name} on http://{host}:{bound}/v1 (max queue {config.max_queue})",
          file=sys.stdout, flush=True)
    server = uvicorn.Server(uvicorn.Config(build_app(runner), log_level="warning", access_log=False))
    server.run(sockets=[sock])
