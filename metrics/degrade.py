"""Controlled image degradations for the metric sensitivity card.

Each one is a deterministic function of the image (the noise is seeded by the image's
content), so a card can be recomputed and gives the same values. Strengths are absolute
(pixels, JPEG quality, 8-bit levels): the damage caches and quantization cause is at the
pixel level (fine texture, detail, slight tone drift), whatever the image size.

These are image-space proxies for what acceleration does, not cache artifacts: a metric that
sees blur may still miss a cache's characteristic errors (repeated structure, temporal
staleness), and the reverse.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from PIL import Image, ImageFilter

Media = TypeVar("Media")  # an image, or a clip (``metrics.degrade_video``)


@dataclass(frozen=True)
class Degradation(Generic[Media]):
    """A named, deterministic degradation of an image (or, in ``metrics.degrade_video``, of a clip)."""

    name: str
    description: str
    apply: Callable[[Media], Media]


def gaussian_blur(sigma: float) -> Callable[[Image.Image], Image.Image]:
    """Gaussian blur with standard deviation ``sigma`` pixels."""
    return lambda im: im.convert("RGB").filter(ImageFilter.GaussianBlur(radius=sigma))


def jpeg(quality: int) -> Callable[[Image.Image], Image.Image]:
    """A JPEG round trip at ``quality`` (PIL's encoder, 4:2:0 chroma subsampling)."""

    def apply(im: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, format="JPEG", quality=quality)
        buf.seek(0)
        with Image.open(buf) as out:
            return out.convert("RGB")

    return apply


def gaussian_noise(sigma: float) -> Callable[[Image.Image], Image.Image]:
    """Additive Gaussian noise of ``sigma`` 8-bit levels, seeded by the image's bytes."""

    def apply(im: Image.Image) -> Image.Image:
        arr = np.asarray(im.convert("RGB"), dtype=np.float32)
        seed = int.from_bytes(hashlib.sha256(arr.tobytes()).digest()[:8], "little")
        noisy = arr + np.random.default_rng(seed).normal(0.0, sigma, arr.shape)
        return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))

    return apply


def rescale(factor: float) -> Callable[[Image.Image], Image.Image]:
    """Downscale by ``factor`` then upscale back (bicubic both ways): lost fine detail."""

    def apply(im: Image.Image) -> Image.Image:
        im = im.convert("RGB")
        small = (max(1, round(im.width * factor)), max(1, round(im.height * factor)))
        return im.resize(small, Image.Resampling.BICUBIC).resize(im.size, Image.Resampling.BICUBIC)

    return apply


def colour_shift(gains: tuple[float, float, float]) -> Callable[[Image.Image], Image.Image]:
    """Multiply each RGB channel by its gain (a slight warm or cool cast)."""

    def apply(im: Image.Image) -> Image.Image:
        arr = np.asarray(im.convert("RGB"), dtype=np.float32) * np.asarray(gains, dtype=np.float32)
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))

    return apply


#: The card's degradations, mildest to strongest within each family.
DEGRADATIONS: tuple[Degradation[Image.Image], ...] = (
    Degradation("blur-0.5", "Gaussian blur, sigma 0.5 px", gaussian_blur(0.5)),
    Degradation("blur-1", "Gaussian blur, sigma 1 px", gaussian_blur(1.0)),
    Degradation("blur-2", "Gaussian blur, sigma 2 px", gaussian_blur(2.0)),
    Degradation("jpeg-90", "JPEG round trip, quality 90", jpeg(90)),
    Degradation("jpeg-70", "JPEG round trip, quality 70", jpeg(70)),
    Degradation("jpeg-50", "JPEG round trip, quality 50", jpeg(50)),
    Degradation("noise-5", "Gaussian noise, sigma 5/255", gaussian_noise(5.0)),
    Degradation("rescale-0.5", "downscale to 1/2 then upscale back (bicubic)", rescale(0.5)),
    Degradation("colour-shift", "red x1.04, blue x0.96 (slight warm cast)", colour_shift((1.04, 1.0, 0.96))),
)
