"""Decoding endpoint clips (MP4 and whatever else FFmpeg reads) safely into RGB frames.

The body is already capped at ``max_body_mb`` (:mod:`evalsuite.endpoints.decoding`), but a
few kilobytes of H.264 can decode to gigabytes of frames, as a PNG bomb does for images. So
decoding is bounded twice before memory is spent:

- each frame's size: FFmpeg's own ``max_pixels`` refuses a picture larger than
  :data:`PIXEL_HEADROOM` times the requested size, whether the container or the bitstream
  declares it, before a buffer is allocated (a smaller or mildly larger clip decodes and is
  flagged, as a wrong-sized image is);
- the number of frames: decoding stops one past the requested count, so a clip that claims
  a million frames costs ``frames + 1`` at most (and is flagged for the count).

PyAV (FFmpeg's bindings, a dependency for writing clips anyway) is imported where a clip is
decoded, so suites validate without it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from evalsuite.endpoints.errors import NOT_A_VIDEO, OVERSIZE, EndpointError

PIXEL_HEADROOM = 4  # a frame may hold up to 4x the requested pixels before decoding is refused


@dataclass(frozen=True)
class DecodedClip:
    """A delivered clip's frames and what its container says about them."""

    frames: np.ndarray  # F x H x W x 3 uint8
    fps: float | None  # the stream's average frame rate, None when it declares none
    more: bool  # True when the stream held more frames than were decoded


def decode_clip(data: bytes, frames: int, width: int, height: int) -> DecodedClip:
    """Decode at most ``frames + 1`` frames of ``data``'s first video stream as RGB.

    Raises:
        EndpointError: NOT_A_VIDEO for bytes FFmpeg cannot read as video (or no frames);
            OVERSIZE for frames beyond :data:`PIXEL_HEADROOM` times ``width x height``.
    """
    import av

    limit = PIXEL_HEADROOM * width * height
    out: list[np.ndarray] = []
    more = False
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise EndpointError(NOT_A_VIDEO, f"no video stream in {_describe(data)}")
            stream = container.streams.video[0]
            if stream.codec_context.width * stream.codec_context.height > limit:
                raise _oversize(stream.codec_context.width, stream.codec_context.height, width, height)
            stream.codec_context.options = {"max_pixels": str(limit)}  # the bitstream's own sizes too
            rate = stream.average_rate
            for frame in container.decode(stream):
                if len(out) == frames:
                    more = True
                    break
                if frame.width * frame.height > limit:
                    raise _oversize(frame.width, frame.height, width, height)
                out.append(frame.to_ndarray(format="rgb24"))
    except EndpointError:
        raise
    except (av.FFmpegError, ValueError, OSError, MemoryError) as exc:
        raise EndpointError(NOT_A_VIDEO, f"body is not a decodable video ({type(exc).__name__}: "
                            f"{str(exc)[:120]}; {_describe(data)})") from None
    if not out:
        raise EndpointError(NOT_A_VIDEO, f"no frame decodes from {_describe(data)}")
    if len({f.shape for f in out}) > 1:
        raise EndpointError(NOT_A_VIDEO, "frames of different sizes in one clip")
    fps = float(rate) if isinstance(rate, Fraction | int) and rate > 0 else None
    return DecodedClip(np.stack(out), fps, more)


def clip_problem(clip: DecodedClip, frames: int, fps: int | None, width: int, height: int) -> str | None:
    """Why a delivered clip is wrong for the request (count, size, rate); None when it is right.

    The API carries each of these, so anything else is wrong: the clip is stored and flagged,
    never scored (paired metrics would compare frames that do not correspond).
    """
    n, h, w = clip.frames.shape[:3]
    if clip.more or n != frames:
        return f"frame count mismatch: requested {frames}, delivered {'more than ' if clip.more else ''}{n}"
    if (w, h) != (width, height):
        return f"size mismatch: requested {width}x{height}, delivered {w}x{h}"
    if fps is not None and clip.fps is not None and abs(clip.fps - fps) > 0.01:
        return f"frame rate mismatch: requested {fps} fps, delivered {clip.fps:g}"
    black = [i for i, frame in enumerate(clip.frames) if int(frame.max()) == 0]
    if black:
        return f"all-black frame(s) {', '.join(map(str, black[:5]))} of {n} (a provider's safety filter?)"
    return None


def _oversize(w: int, h: int, width: int, height: int) -> EndpointError:
    return EndpointError(OVERSIZE, f"clip frames of {w}x{h} refused: more than {PIXEL_HEADROOM}x the "
                         f"requested {width}x{height}")


def _describe(data: bytes) -> str:
    return f"{len(data)} bytes starting {data[:16]!r}"
