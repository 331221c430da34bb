"""``openai-images``: OpenAI-compatible ``POST {url}/images/generations`` with ``b64_json``.

Serving engines (SGLang Diffusion, vLLM-Omni, NVIDIA Dynamo) and ``evalsuite serve`` speak
it. OpenAI's own schema has ``model``, ``prompt``, ``n``, ``size`` ("WxH") and
``response_format``, and answers ``{"created": ..., "data": [{"b64_json": ...}]}``; the
diffusion settings travel as extension fields (``seed``, ``num_inference_steps``, guidance
under the family's name, ``negative_prompt``) as SGLang Diffusion's ``ImageGenerationsRequest``
and vLLM-Omni's image API take them: both accept ``guidance_scale`` and ``true_cfg_scale``
(Qwen-Image's true CFG). ``extra`` overrides any field.
A ``data[0].url`` answer instead of ``b64_json`` is downloaded.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from evalsuite.endpoints.base import (
    ImageRequest,
    Protocol,
    ProtocolResult,
    engine_fields,
    reported_steps,
    require,
    seconds,
)
from evalsuite.endpoints.errors import BAD_RESPONSE, EndpointError
from evalsuite.endpoints.http import EndpointHTTP, fetch_image
from evalsuite.endpoints.spec import EndpointSpec


def build_body(spec: EndpointSpec, req: ImageRequest) -> dict[str, Any]:
    """The JSON request body."""
    return {**engine_fields(spec, req), "n": 1, "response_format": "b64_json", **spec.extra_dict()}


def parse_response(data: Any) -> tuple[bytes | None, str | None, dict[str, Any]]:
    """(image bytes from ``b64_json``, or the ``url`` to fetch, and the first item's metadata)."""
    item = require(data, "data", 0)
    if not isinstance(item, dict):
        raise EndpointError(BAD_RESPONSE, "response field data.0 is not an object")
    if isinstance(item.get("b64_json"), str):
        try:
            return base64.b64decode(item["b64_json"], validate=True), None, item
        except (binascii.Error, ValueError):
            raise EndpointError(BAD_RESPONSE, "data.0.b64_json is not valid base64") from None
    if isinstance(item.get("url"), str):
        return None, item["url"], item
    raise EndpointError(BAD_RESPONSE, "response has neither data.0.b64_json nor data.0.url")


class OpenAIImages(Protocol):
    """OpenAI-compatible image generation (serving engines, ``evalsuite serve``)."""

    name = "openai-images"
    description = "POST {url}/images/generations, b64_json response (OpenAI-compatible servers)"

    def accepted(self, spec: EndpointSpec) -> dict[str, str | None]:
        return {"prompt": "prompt", "seed": "seed (extension field)",
                "steps": "num_inference_steps (extension field)",
                "guidance": "guidance_scale, or the family's name for it (extension field)",
                "negative_prompt": "negative_prompt (extension field)", "size": "size"}

    async def generate(self, http: EndpointHTTP, spec: EndpointSpec, req: ImageRequest) -> ProtocolResult:
        resp = await http.request("POST", f"{spec.url}/images/generations", call="generate",
                                  json_body=build_body(spec, req))
        data = resp.json()
        image, url, _ = parse_response(data)
        if image is None:
            image = await fetch_image(http, str(url))
        timings = data.get("timings") if isinstance(data.get("timings"), dict) else {}
        seed = data.get("seed")
        return ProtocolResult(image, queue_s=seconds(timings.get("queue_s")),
                              inference_s=seconds(timings.get("inference_s")),
                              reported_seed=seed if isinstance(seed, int) else None,
                              steps=reported_steps(data.get("cache")))
