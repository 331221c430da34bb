"""One image (or clip) request: the protocol's HTTP calls, the answer decoded, the outcome as a row.

One request has one deadline, ``deadline_s``, over all its HTTP calls and the decoding.
Whatever goes wrong with one answer fails that request and nothing else: an
:class:`~evalsuite.endpoints.errors.EndpointError` keeps its kind, any other exception while
parsing or decoding (deep JSON, a list where an object belongs, mixed time zones, a PIL
error) becomes ``bad_response`` with the exception's type and message. Reasons are raw
here; :class:`~evalsuite.endpoints.recorder.Recorder` redacts them before they are stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from evalsuite.endpoints.base import ImageRequest, Protocol, ProtocolResult
from evalsuite.endpoints.clips import clip_problem, decode_clip
from evalsuite.endpoints.errors import BAD_RESPONSE, TIMEOUT, EndpointError
from evalsuite.endpoints.http import Attempt, EndpointHTTP
from evalsuite.endpoints.images import decode_image
from evalsuite.endpoints.records import RequestRow
from evalsuite.endpoints.spec import EndpointSpec

if TYPE_CHECKING:
    import httpx
    from PIL import Image


@dataclass(frozen=True)
class Target:
    """Where a request's row belongs and what it asks for."""

    variant_id: str
    prompt_id: str
    seed: int  # the stored key's seed (without the variant's seed offset)
    request: ImageRequest


@dataclass(frozen=True)
class Delivery:
    """How one request ended: its row, the decoded image when there is one, its attempts.

    For a clip, ``frames`` holds every decoded frame and ``image`` is its poster (the middle
    frame, as for a local clip); ``fps`` is the rate it is stored at.
    """

    row: RequestRow
    image: Image.Image | None
    result: ProtocolResult | None
    attempts: tuple[Attempt, ...]
    frames: np.ndarray | None = None
    fps: int | None = None


@dataclass(frozen=True)
class Decoded:
    """A delivered answer decoded: the image (a clip's poster), the clip's frames, and any flag."""

    image: Image.Image
    flag: str | None
    frames: np.ndarray | None = None


def decode(protocol: Protocol, req: ImageRequest, data: bytes) -> Decoded:
    """Decode an image or a clip and say why it must not be scored (None: it may be).

    Flagged answers are stored and timed but never scored, like a local NaN image.
    """
    if req.is_clip:
        from PIL import Image

        from metrics.base import poster_frame

        assert req.frames is not None
        clip = decode_clip(data, req.frames, req.width, req.height)
        poster = Image.fromarray(poster_frame(list(clip.frames)))
        return Decoded(poster, clip_problem(clip, req.frames, req.fps, req.width, req.height), clip.frames)
    image = decode_image(data)
    flag = protocol.size_problem(req, image.size)
    if flag is None and np.asarray(image).max() < 1:
        flag = "all-black image (a provider's safety filter?)"
    return Decoded(image, flag)


async def request_image(protocol: Protocol, spec: EndpointSpec, client: httpx.AsyncClient, key: str | None,
                        target: Target, on_stop: Callable[[Delivery], None] | None = None,
                        **http_options: Any) -> Delivery:
    """Request, decode and check one image; never raises for anything the server sent.

    The whole request (attempts, reads, backoff, polls, download, decoding) has
    ``spec.deadline_s``. If it is cancelled from outside (the run limit), ``on_stop`` hears
    it as a ``timeout`` failure with the attempts so far, and the cancellation goes on.
    """
    http = EndpointHTTP(client, spec, key, protocol.auth_scheme, **http_options)
    start = time.perf_counter()
    req = target.request

    def failed(kind: str, reason: str) -> Delivery:
        return Delivery(RequestRow(target.variant_id, target.prompt_id, target.seed, kind, None, None, None,
                                   len(http.attempts), None, reason[:500], req.width, req.height),
                        None, None, tuple(http.attempts))

    deadline = asyncio.timeout(spec.deadline_s)
    try:
        async with deadline:
            result = await protocol.generate(http, spec, target.request)
            got = await asyncio.to_thread(decode, protocol, req, result.data)
    except EndpointError as exc:
        return failed(exc.kind, str(exc))
    except TimeoutError as exc:
        if not deadline.expired():  # not ours: something inside let a bare TimeoutError out
            return failed(BAD_RESPONSE, f"{type(exc).__name__} while reading the answer: {exc}")
        last = f"; last: {http.attempts[-1].call} {http.attempts[-1].outcome}" if http.attempts else ""
        what = "clip" if req.is_clip else "image"
        return failed(TIMEOUT, f"no {what} within deadline_s ({spec.deadline_s:g} s) after "
                      f"{len(http.attempts)} attempts{last}")
    except asyncio.CancelledError:
        if on_stop is not None:
            on_stop(failed(TIMEOUT, "stopped in flight"))
        raise
    except Exception as exc:  # noqa: BLE001 - one malformed answer fails its request, never the run
        return failed(BAD_RESPONSE, f"{type(exc).__name__} while reading the answer: {exc}")
    latency = time.perf_counter() - start
    row = RequestRow(target.variant_id, target.prompt_id, target.seed, "flagged" if got.flag else "ok",
                     latency, result.queue_s, result.inference_s, len(http.attempts),
                     hashlib.sha256(result.data).hexdigest(), got.flag, req.width, req.height,
                     *got.image.size)
    return Delivery(row, got.image, result, tuple(http.attempts), got.frames, req.fps)
