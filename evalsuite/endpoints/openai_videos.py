"""``openai-videos``: the async video API of SGLang Diffusion and vLLM-Omni (create, poll, fetch).

Both engines follow OpenAI's Videos API shape:

- ``POST {url}/videos`` creates a job and answers at once with its record: ``id``, ``object``
  ("video"), ``status`` ("queued"), ``created_at``, ``size``, ``seconds``, ...
- ``GET {url}/videos/{id}`` answers the same record; ``status`` moves through "queued" and
  "in_progress" to "completed" or "failed" (then ``error`` = ``{"message": ...}``, vLLM-Omni
  adds ``code``). Both report ``inference_time_s``; ``evalsuite serve`` adds ``cache``
  (``steps_computed``, ``steps_skipped``), read as ``openai-images`` reads it.
- ``GET {url}/videos/{id}/content`` answers the clip (``video/mp4``); before completion SGLang
  answers 404, so it is fetched only once the record says "completed".

Sources: SGLang ``python/sglang/multimodal_gen/runtime/entrypoints/openai/video_api.py``
(``create_video``, ``retrieve_video``, ``download_video_content``) and ``protocol.py``
(``VideoGenerationsRequest``: prompt, model, size "WxH", fps, num_frames, seed,
num_inference_steps, guidance_scale, true_cfg_scale, negative_prompt; ``VideoResponse``);
vLLM-Omni ``vllm_omni/entrypoints/openai/protocol/videos.py`` (``VideoGenerationRequest`` with
the same fields plus width/height, guidance_scale_2, boundary_ratio, flow_shift;
``VideoGenerationStatus``; ``VideoResponse`` with ``inference_time_s``) and ``api_server.py``
(``_parse_video_form``, ``_run_video_generation_job``).

The two differ in how the create call is encoded: SGLang reads a JSON body (its multipart
form is for image-to-video and requires an ``input_reference`` file), vLLM-Omni reads
multipart form fields only (``Form(...)`` parameters). So ``openai-videos`` sends JSON
(SGLang Diffusion, ``evalsuite serve``) and ``openai-videos-form`` sends the same fields as
``multipart/form-data`` (vLLM-Omni). ``extra`` adds or overrides fields in either.
"""

from __future__ import annotations

from typing import Any, ClassVar

from evalsuite.endpoints.base import (
    ImageRequest,
    Protocol,
    ProtocolResult,
    engine_fields,
    reported_expert_steps,
    reported_steps,
    require,
    seconds,
)
from evalsuite.endpoints.errors import BAD_RESPONSE, PROVIDER_FAILED, EndpointError
from evalsuite.endpoints.http import EndpointHTTP
from evalsuite.endpoints.polling import poll_until
from evalsuite.endpoints.spec import EndpointSpec

COMPLETED = "completed"
# Statuses after which a job never changes (OpenAI's, the engines', and common spellings).
SETTLED = (COMPLETED, "failed", "cancelled", "canceled", "error", "expired", "deleted")
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def build_body(spec: EndpointSpec, req: ImageRequest) -> dict[str, Any]:
    """The create call's fields: the engines' shared ones, the clip's length and rate, ``extra``."""
    clip = {k: v for k, v in (("num_frames", req.frames), ("fps", req.fps)) if v is not None}
    return {**engine_fields(spec, req), **clip, **spec.extra_dict()}


def job_id(data: Any) -> str:
    """The job's id from a create answer; BAD_RESPONSE unless it is a plain token.

    It becomes part of the next URLs, so ``/``, ``?``, ``..`` or spaces would send the poll
    somewhere else (another path, or the content of another job).
    """
    value = require(data, "id")
    if not isinstance(value, str) or not value or len(value) > 200 or not set(value) <= _ID_CHARS \
            or value in (".", ".."):
        raise EndpointError(BAD_RESPONSE, f"field id is not a job id: {str(value)[:80]!r}")
    return value


def parse_job(data: Any) -> tuple[str, float | None, str | None]:
    """(status, reported inference seconds, error message) from a job record."""
    status = require(data, "status")
    if not isinstance(status, str):
        raise EndpointError(BAD_RESPONSE, "field status is not a string")
    error = data.get("error")
    message = None
    if isinstance(error, dict):
        message = str(error.get("message") or error)[:300]
    elif error is not None:
        message = str(error)[:300]
    return status.lower(), seconds(data.get("inference_time_s")), message


class OpenAIVideos(Protocol):
    """Async video jobs over JSON (SGLang Diffusion, ``evalsuite serve``)."""

    name = "openai-videos"
    description = "POST {url}/videos (JSON), poll {url}/videos/{id}, GET .../content (SGLang Diffusion)"
    modality = "video"
    form: ClassVar[bool] = False  # send the create call's fields as multipart form data

    def accepted(self, spec: EndpointSpec) -> dict[str, str | None]:
        return {"prompt": "prompt", "seed": "seed", "steps": "num_inference_steps",
                "guidance": "guidance_scale, or the family's name for it",
                "negative_prompt": "negative_prompt", "size": "size", "frames": "num_frames", "fps": "fps"}

    async def generate(self, http: EndpointHTTP, spec: EndpointSpec, req: ImageRequest) -> ProtocolResult:
        body = build_body(spec, req)
        form = {k: str(v) for k, v in body.items()} if self.form else None
        created = (await http.request("POST", f"{spec.url}/videos", call="create",
                                      json_body=None if self.form else body, form=form)).json()
        vid = job_id(created)
        state = created
        status, inference_s, error = parse_job(created)
        if status not in SETTLED:
            state = await poll_until(http, f"{spec.url}/videos/{vid}", lambda s: parse_job(s)[0] in SETTLED)
            status, inference_s, error = parse_job(state)
        if status != COMPLETED:
            raise EndpointError(PROVIDER_FAILED, f"video job {vid} ended {status}"
                                + (f": {error}" if error else ""))
        content = await http.request("GET", f"{spec.url}/videos/{vid}/content", call="content",
                                     expect="video")
        cache = state.get("cache") if isinstance(state, dict) else None
        return ProtocolResult(content.body, queue_s=None, inference_s=inference_s, notes={"video_id": vid},
                              steps=reported_steps(cache), expert_steps=reported_expert_steps(cache))


class OpenAIVideosForm(OpenAIVideos):
    """The same jobs, created with multipart form fields (vLLM-Omni)."""

    name = "openai-videos-form"
    description = "as openai-videos, the create call as multipart form fields (vLLM-Omni)"
    form = True
