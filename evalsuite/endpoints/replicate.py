"""``replicate``: Replicate's predictions API (create a prediction, poll it, download the output).

From Replicate's HTTP API docs: ``POST {url}/models/{owner}/{name}/predictions`` (official
models) or ``POST {url}/predictions`` with ``version`` (a pinned ``owner/name:version``),
body ``{"input": {...}}``, ``Authorization: Bearer $REPLICATE_API_TOKEN``; the answer is a
prediction object: ``id``, ``status`` (starting, processing, succeeded, failed, canceled),
``urls.get`` to poll, ``output``, ``error``, ``created_at``/``started_at``/``completed_at``
and ``metrics.predict_time`` (seconds). From black-forest-labs/flux-dev's input schema:
``prompt``, ``seed``, ``num_inference_steps``, ``guidance``, ``aspect_ratio``,
``output_format`` (webp by default, so png is asked for); it takes no width or height, so
the size is sent as the nearest aspect ratio. Its ``go_fast`` (on by default) is documented
as not deterministic even with a seed: the seed probe in the manifest shows it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from evalsuite.endpoints.base import ImageRequest, Protocol, ProtocolResult, require, seconds
from evalsuite.endpoints.errors import BAD_RESPONSE, PROVIDER_FAILED, EndpointError
from evalsuite.endpoints.http import EndpointHTTP, fetch_image
from evalsuite.endpoints.polling import poll_until
from evalsuite.endpoints.spec import EndpointSpec

SETTLED = ("succeeded", "failed", "canceled")
# FLUX sizes are multiples of 16 near the ratio asked (1344x768 for 16:9, 1536x640 for 21:9):
# within 3% of it, so 5% tells them from an image of another shape.
RATIO_TOLERANCE = 0.05
ASPECT_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")


def aspect_ratio(width: int, height: int) -> str:
    """The documented aspect ratio nearest to width:height."""
    target = width / height
    return min(ASPECT_RATIOS, key=lambda r: abs(float(Fraction(*map(int, r.split(":")))) - target))


def create_call(spec: EndpointSpec, req: ImageRequest) -> tuple[str, dict[str, Any]]:
    """(URL, JSON body) that create the prediction."""
    inputs: dict[str, Any] = {"prompt": req.prompt, "seed": req.seed, "num_inference_steps": req.steps,
                              "guidance": req.guidance, "aspect_ratio": aspect_ratio(req.width, req.height),
                              "num_outputs": 1, "output_format": "png"}
    inputs.update(spec.extra_dict())
    if ":" in spec.model:  # owner/name:version pins a version
        return f"{spec.url}/predictions", {"version": spec.model.split(":", 1)[1], "input": inputs}
    return f"{spec.url}/models/{spec.model}/predictions", {"input": inputs}


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time; one without a zone is read as UTC, so it compares with zoned ones."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def parse_prediction(data: Any) -> dict[str, Any]:
    """id, status, poll URL, first output URL, error, queue and predict seconds of a prediction.

    Only ``status`` is required: a settled prediction need not say where to poll (a failed
    create often carries nothing but ``status`` and ``error``).
    """
    if not isinstance(data, dict):
        raise EndpointError(BAD_RESPONSE, f"prediction is a JSON {type(data).__name__}, not an object")
    output = data.get("output")
    first = output[0] if isinstance(output, list) and output else output
    created, started = _time(data.get("created_at")), _time(data.get("started_at"))
    metrics = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
    urls = data.get("urls") if isinstance(data.get("urls"), dict) else {}
    return {"id": str(data.get("id", "?")), "status": str(require(data, "status")),
            "get": urls.get("get") if isinstance(urls.get("get"), str) else None,
            "output": first if isinstance(first, str) else None, "error": data.get("error"),
            "queue_s": (started - created).total_seconds() if created and started else None,
            "predict_s": seconds(metrics.get("predict_time"))}


class Replicate(Protocol):
    """Replicate predictions: create, poll, download."""

    name = "replicate"
    description = "Replicate predictions API: POST .../predictions, poll urls.get, download output"

    def accepted(self, spec: EndpointSpec) -> dict[str, str | None]:
        return {"prompt": "input.prompt", "seed": "input.seed", "steps": "input.num_inference_steps",
                "guidance": "input.guidance", "size": "input.aspect_ratio (nearest ratio; no exact size)"}

    def size_problem(self, req: ImageRequest, size: tuple[int, int]) -> str | None:
        """Only the aspect ratio travels: a size is right when it is the one requested, or its
        ratio is within ``RATIO_TOLERANCE`` of the ratio sent and no side is under half the
        one requested."""
        if size == (req.width, req.height):
            return None
        sent = aspect_ratio(req.width, req.height)
        target = float(Fraction(*map(int, sent.split(":"))))
        width, height = size
        if abs(width / height / target - 1) <= RATIO_TOLERANCE and 2 * width >= req.width \
                and 2 * height >= req.height:
            return None
        return (f"size mismatch: requested {req.width}x{req.height} (sent as {sent}), "
                f"delivered {width}x{height}")

    async def generate(self, http: EndpointHTTP, spec: EndpointSpec, req: ImageRequest) -> ProtocolResult:
        url, body = create_call(spec, req)
        pred = parse_prediction((await http.request("POST", url, call="create", json_body=body)).json())
        if pred["status"] not in SETTLED:
            if pred["get"] is None:
                raise EndpointError(BAD_RESPONSE, f"prediction {pred['id']} is {pred['status']} "
                                    "and has no urls.get to poll")
            pred = parse_prediction(await poll_until(
                http, pred["get"], lambda d: parse_prediction(d)["status"] in SETTLED))
        if pred["status"] != "succeeded" or pred["output"] is None:
            why = pred["error"] or "no output"
            raise EndpointError(PROVIDER_FAILED, f"prediction {pred['id']} {pred['status']}: {why}")
        return ProtocolResult(await fetch_image(http, pred["output"]), queue_s=pred["queue_s"],
                              inference_s=pred["predict_s"], notes={"prediction_id": pred["id"]})
