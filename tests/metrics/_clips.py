"""Synthetic clips for the video scorer tests: 9 frames of 32x32, built in microseconds.

``moving_square`` is a bright square sliding over a textured background (motion, a stable
subject); ``static`` is the same background every frame; ``noise_clip`` is independent
random frames (no temporal consistency at all).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

FRAMES, SIZE = 9, 32


def background(seed: int = 0, size: int = SIZE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(40, 200, size, dtype=np.float32)
    base = np.stack([ramp[None, :].repeat(size, 0), ramp[:, None].repeat(size, 1),
                     np.full((size, size), 90, np.float32)], -1)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255)


def moving_square(seed: int = 0, frames: int = FRAMES, size: int = SIZE, step: int = 2
                  ) -> tuple[Image.Image, ...]:
    bg = background(seed, size)
    out = []
    for t in range(frames):
        a = bg.copy()
        x = 4 + step * t
        a[10:20, x : x + 8] = (250, 240, 30)
        out.append(Image.fromarray(np.rint(a).astype(np.uint8)))
    return tuple(out)


def static(seed: int = 0, frames: int = FRAMES, size: int = SIZE) -> tuple[Image.Image, ...]:
    frame = Image.fromarray(np.rint(background(seed, size)).astype(np.uint8))
    return (frame,) * frames


def noise_clip(seed: int = 0, frames: int = FRAMES, size: int = SIZE) -> tuple[Image.Image, ...]:
    rng = np.random.default_rng(seed)
    return tuple(Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
                 for _ in range(frames))


def as_arrays(clip: tuple[Image.Image, ...]) -> np.ndarray:
    return np.stack([np.asarray(f.convert("RGB")) for f in clip])
