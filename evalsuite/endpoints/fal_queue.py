"""``fal-queue``: fal.ai's queue API (submit, poll the status, fetch the result).

From fal's queue docs: ``POST https://queue.fal.run/{model_id}`` with the model's input as
the JSON body and ``Authorization: Key $FAL_KEY`` answers ``request_id``, ``status_url``,
``response_url`` (and ``cancel_url``); ``GET status_url`` answers ``status`` = ``IN_QUEUE``
(with ``queue_position``), ``IN_PROGRESS`` or ``COMPLETED`` (with
``metrics.inference_time`` in seconds); ``GET response_url`` answers the model's output.
From the FLUX.1 [dev] model page: input ``prompt``, ``image_size`` ({width, height}),
``num_inference_steps``, ``guidance_scale``, ``seed``, ``num_images``, ``output_format``
(jpeg by default, so png is asked for); output ``images[].url`` (+ width, height,
content_type), ``seed``, ``timings.inference``.
"""

from __future__ import annotations

from typing import Any

from evalsuite.endpoints.base import ImageRequest, Protocol, ProtocolResult, require, seconds
from evalsuite.endpoints.errors import PROVIDER_FAILED, EndpointError
from evalsuite.endpoints.http import EndpointHTTP, fetch_image
from evalsuite.endpoints.polling import poll_until
from evalsuite.endpoints.spec import EndpointSpec

SETTLED = ("COMPLETED", "FAILED", "CANCELED", "CANCELLED", "ERROR")


def build_input(spec: EndpointSpec, req: ImageRequest) -> dict[str, Any]:
    """The JSON body of the submit call."""
    body: dict[str, Any] = {"prompt": req.prompt, "seed": req.seed, "num_inference_steps": req.steps,
                            "guidance_scale": req.guidance,
                            "image_size": {"width": req.width, "height": req.height},
                            "num_images": 1, "output_format": "png"}
    body.update(spec.extra_dict())
    return body


def parse_submit(data: Any) -> tuple[str, str, str]:
    """(request_id, status_url, response_url) from the submit answer."""
    return (str(require(data, "request_id")), str(require(data, "status_url")),
            str(require(data, "response_url")))


def parse_status(data: Any) -> tuple[str, float | None]:
    """(status, inference seconds when reported) from a status answer."""
    status = str(require(data, "status")).upper()
    metrics = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
    return status, seconds(metrics.get("inference_time"))


def parse_result(data: Any) -> tuple[str, int | None, float | None]:
    """(first image URL, reported seed, timings.inference) from the result answer."""
    url = str(require(data, "images", 0, "url"))
    seed = data.get("seed")
    timings = data.get("timings") if isinstance(data.get("timings"), dict) else {}
    return url, seed if isinstance(seed, int) else None, seconds(timings.get("inference"))


class FalQueue(Protocol):
    """fal.ai queue: submit, poll, fetch."""

    name = "fal-queue"
    description = "fal.ai queue API: POST {url}/{model}, poll status_url, GET response_url"
    auth_scheme = "Key"

    def accepted(self, spec: EndpointSpec) -> dict[str, str | None]:
        return {"prompt": "prompt", "seed": "seed", "steps": "num_inference_steps",
                "guidance": "guidance_scale", "size": "image_size.width/height"}

    async def generate(self, http: EndpointHTTP, spec: EndpointSpec, req: ImageRequest) -> ProtocolResult:
        submitted = await http.request("POST", f"{spec.url}/{spec.model}", call="submit",
                                       json_body=build_input(spec, req))
        request_id, status_url, response_url = parse_submit(submitted.json())
        state = await poll_until(http, status_url, lambda s: parse_status(s)[0] in SETTLED)
        status, inference_s = parse_status(state)
        if status != "COMPLETED":
            raise EndpointError(PROVIDER_FAILED, f"fal request {request_id} ended {status}")
        url, seed, timed = parse_result((await http.request("GET", response_url, call="result")).json())
        return ProtocolResult(await fetch_image(http, url), queue_s=None,
                              inference_s=inference_s if inference_s is not None else timed,
                              reported_seed=seed, notes={"request_id": request_id})
