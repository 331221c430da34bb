"""Controlled clip degradations for the metric sensitivity card of a video run.

The temporal counterparts of ``metrics.degrade``: each is a deterministic function of the clip
(flicker's signs are seeded by the clip's content), keeps its frame count and size, and comes
in three strengths, mildest first:

* **frame drops**: every k-th frame replaced by the one before it (a stutter, what a dropped
  frame looks like once the player repeats the last one);
* **temporal blur**: each frame mixed with its neighbours, ``(1 - w) f_t + w/2 (f_t-1 + f_t+1)``
  (ends repeat themselves; w = 2/3 is a 3-frame box average): ghosting, stale content;
* **flicker**: each frame's brightness scaled by 1 ± a, the sign drawn per frame;
* **per-frame JPEG**: every frame through ``metrics.degrade.jpeg`` (one home for the codec).

Like the image ones these are proxies, not cache artifacts: a cache's stale features are
closer to temporal blur and frame repeats than to anything in the image card, but not equal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
from PIL import Image

from metrics.base import Clip
from metrics.degrade import Degradation, jpeg


def _stack(clip: Clip) -> np.ndarray:
    return np.stack([np.asarray(f.convert("RGB"), dtype=np.float32) for f in clip])


def _frames(arr: np.ndarray) -> Clip:
    return tuple(Image.fromarray(np.clip(np.rint(f), 0, 255).astype(np.uint8)) for f in arr)


def frame_drops(every: int) -> Callable[[Clip], Clip]:
    """Frames ``every-1``, ``2*every-1``, ... replaced by their previous frame."""

    def apply(clip: Clip) -> Clip:
        out = [f.convert("RGB") for f in clip]
        for i in range(every - 1, len(out), every):
            if i > 0:
                out[i] = out[i - 1].copy()
        return tuple(out)

    return apply


def temporal_blur(weight: float) -> Callable[[Clip], Clip]:
    """Each frame mixed with its neighbours: ``(1 - weight) f_t + weight/2 (f_t-1 + f_t+1)``."""

    def apply(clip: Clip) -> Clip:
        arr = _stack(clip)
        before = np.concatenate([arr[:1], arr[:-1]])  # the first frame is its own predecessor
        after = np.concatenate([arr[1:], arr[-1:]])
        return _frames((1 - weight) * arr + weight / 2 * (before + after))

    return apply


def flicker(amplitude: float) -> Callable[[Clip], Clip]:
    """Each frame's brightness times 1 ± ``amplitude`` (signs seeded by the clip's bytes)."""

    def apply(clip: Clip) -> Clip:
        arr = _stack(clip)
        seed = int.from_bytes(hashlib.sha256(arr.tobytes()).digest()[:8], "little")
        signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=len(arr))
        return _frames(arr * (1 + amplitude * signs)[:, None, None, None])

    return apply


def per_frame(image_degradation: Callable[[Image.Image], Image.Image]) -> Callable[[Clip], Clip]:
    """An image degradation applied to every frame."""
    return lambda clip: tuple(image_degradation(f) for f in clip)


#: The card's clip degradations, mildest to strongest within each family.
VIDEO_DEGRADATIONS: tuple[Degradation[Clip], ...] = (
    Degradation("drop-4", "every 4th frame dropped (the previous one repeated)", frame_drops(4)),
    Degradation("drop-3", "every 3rd frame dropped (the previous one repeated)", frame_drops(3)),
    Degradation("drop-2", "every 2nd frame dropped (the previous one repeated)", frame_drops(2)),
    Degradation("tblur-0.2", "each frame mixed 20% with its two neighbours", temporal_blur(0.2)),
    Degradation("tblur-0.4", "each frame mixed 40% with its two neighbours", temporal_blur(0.4)),
    Degradation("tblur-0.67", "3-frame box average (each frame 1/3 its own)", temporal_blur(2 / 3)),
    Degradation("flicker-2", "each frame's brightness x(1 ± 0.02)", flicker(0.02)),
    Degradation("flicker-5", "each frame's brightness x(1 ± 0.05)", flicker(0.05)),
    Degradation("flicker-10", "each frame's brightness x(1 ± 0.10)", flicker(0.10)),
    Degradation("jpeg-90", "every frame through a JPEG round trip, quality 90", per_frame(jpeg(90))),
    Degradation("jpeg-70", "every frame through a JPEG round trip, quality 70", per_frame(jpeg(70))),
    Degradation("jpeg-50", "every frame through a JPEG round trip, quality 50", per_frame(jpeg(50))),
)
