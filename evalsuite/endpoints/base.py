"""The small interface every endpoint protocol implements.

A protocol turns one :class:`ImageRequest` into HTTP calls through an :class:`~evalsuite.
endpoints.http.EndpointHTTP` (which owns retries, limits and the key) and hands back the
image bytes with whatever timings the API reports. The request and response shapes are
pure functions on each protocol, so tests can check them against the providers' docs.
Failures are :class:`~evalsuite.endpoints.errors.EndpointError` with a kind from
:mod:`evalsuite.endpoints.errors`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from evalsuite.endpoints.errors import BAD_RESPONSE, EndpointError

if TYPE_CHECKING:
    from evalsuite.endpoints.http import EndpointHTTP
    from evalsuite.endpoints.spec import EndpointSpec


@dataclass(frozen=True)
class ImageRequest:
    """The generation settings of one image (or clip), as the suite gives them to every variant."""

    prompt: str
    seed: int
    steps: int
    guidance: float
    width: int
    height: int
    # How the model family names guidance (Qwen-Image: "true_cfg_scale"), and its negative
    # prompt (None: not sent); evalsuite.models.families says both.
    guidance_field: str = "guidance_scale"
    negative_prompt: str | None = None
    # A clip's frame count and rate (a video family's model); None for an image.
    frames: int | None = None
    fps: int | None = None

    @property
    def is_clip(self) -> bool:
        """Whether this asks for a clip rather than one image."""
        return self.frames is not None


@dataclass(frozen=True)
class ProtocolResult:
    """What a protocol got back for one image."""

    data: bytes  # the encoded image (PNG, JPEG, WebP, ...) or clip (MP4)
    queue_s: float | None = None  # time spent queued, as the API reports it
    inference_s: float | None = None  # time spent generating, as the API reports it
    reported_seed: int | None = None  # the seed the API says it used
    # (computed, skipped) denoiser calls, as the API reports them (``evalsuite serve`` does):
    # a served cache is then compared with local ones at equal work (reports.equal_work).
    steps: tuple[int, int] | None = None
    # The same per transformer of a model with several (Wan 2.2's experts), where reported.
    expert_steps: dict[str, tuple[int, int]] | None = None
    notes: dict[str, Any] = field(default_factory=dict)


class Protocol(ABC):
    """One API family (openai-images, fal-queue, replicate, openai-videos)."""

    name: ClassVar[str]
    description: ClassVar[str]
    modality: ClassVar[str] = "image"  # what it delivers: "image", or "video" (clips)
    auth_scheme: ClassVar[str] = "Bearer"  # Authorization: <scheme> <key>

    @abstractmethod
    def accepted(self, spec: EndpointSpec) -> dict[str, str | None]:
        """evalsuite setting -> the API field that carries it (None: the API has no such field)."""

    @abstractmethod
    async def generate(self, http: EndpointHTTP, spec: EndpointSpec, req: ImageRequest) -> ProtocolResult:
        """Request one image; raise :class:`EndpointError` on failure."""

    def size_problem(self, req: ImageRequest, size: tuple[int, int]) -> str | None:
        """Why a delivered image's ``(width, height)`` is wrong for ``req``; None when it is right.

        The API carries the exact size, so anything else is wrong: the image is flagged and
        not scored (a 7x7 image read as 15x sharper than the baseline's 64x64).
        """
        if size == (req.width, req.height):
            return None
        return f"size mismatch: requested {req.width}x{req.height}, delivered {size[0]}x{size[1]}"


def engine_fields(spec: EndpointSpec, req: ImageRequest) -> dict[str, Any]:
    """The generation fields the serving engines built on diffusers share (SGLang Diffusion,
    vLLM-Omni, ``evalsuite serve``): prompt, ``size`` "WxH", seed, steps, guidance under the
    family's name, the negative prompt where the family takes one, and the model when set."""
    body: dict[str, Any] = {"prompt": req.prompt, "size": f"{req.width}x{req.height}", "seed": req.seed,
                            "num_inference_steps": req.steps, req.guidance_field: req.guidance}
    if req.negative_prompt is not None:
        body["negative_prompt"] = req.negative_prompt
    if spec.model:
        body["model"] = spec.model
    return body


def require(data: Any, *path: str | int) -> Any:
    """``data[path[0]][path[1]]...``, or a BAD_RESPONSE error naming the missing field."""
    cur = data
    for i, key in enumerate(path):
        try:
            cur = cur[key]
        except (KeyError, IndexError, TypeError):
            where = ".".join(str(p) for p in path[: i + 1])
            raise EndpointError(BAD_RESPONSE, f"response has no field {where}") from None
    return cur


MAX_REPORTED_STEPS = 100_000  # far past any schedule: a larger count is not believed


def reported_steps(value: Any) -> tuple[int, int] | None:
    """(computed, skipped) from a reported ``{"steps_computed": N, "steps_skipped": M}``, or
    None when absent or not two counts in 0..MAX_REPORTED_STEPS (a server's word, never trusted)."""
    if not isinstance(value, dict):
        return None
    counts = (value.get("steps_computed"), value.get("steps_skipped"))
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_REPORTED_STEPS
               for n in counts):
        return None
    computed, skipped = counts
    return (computed, skipped) if computed + skipped > 0 else None


def reported_expert_steps(value: Any) -> dict[str, tuple[int, int]] | None:
    """{transformer: (computed, skipped)} from a reported ``{"experts": {name: {"steps_computed":
    N, "steps_skipped": M}}}`` (``evalsuite serve``, Wan 2.2), or None unless every entry is one
    :func:`reported_steps` believes, under a plain name."""
    experts = value.get("experts") if isinstance(value, dict) else None
    if not isinstance(experts, dict) or not 2 <= len(experts) <= 8:
        return None
    out = {name: reported_steps(counts) for name, counts in experts.items()
           if isinstance(name, str) and name.isidentifier()}
    if len(out) != len(experts) or any(c is None for c in out.values()):
        return None
    return {name: c for name, c in out.items() if c is not None}


def seconds(value: Any, scale: float = 1.0) -> float | None:
    """A reported duration as float seconds, or None when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        out = float(value) * scale
    except OverflowError:  # an integer past float's range
        return None
    return out if math.isfinite(out) else None
