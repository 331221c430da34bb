"""Decoding endpoint images safely and faithfully into 8-bit RGB.

Safely: PIL refuses images over ``2 * Image.MAX_IMAGE_PIXELS`` with ``DecompressionBombError``
and only warns between 1x and 2x; here the warning is an error too, so a provider cannot
make the client decode a huge image. ``MAX_IMAGE_PIXELS`` itself is left as PIL sets it.

Faithfully: PIL's own ``convert("RGB")`` clips 16-bit and 32-bit values instead of scaling
them (a 16-bit grey gradient came out almost all white) and drops alpha, showing whatever
colour hides under transparent pixels. So:

- 16-bit modes (``I;16*``, and ``I``, which PNG's 16-bit grey may decode to) are scaled
  from 0..65535 to 0..255; values outside are clipped.
- ``F`` (float) is read as 0..1; non-finite values become 0.
- Anything with alpha or a transparency key (``RGBA``, ``LA``, ``PA``, ``P`` or ``L`` with
  ``transparency``, premultiplied ``RGBa``/``La``) is composited over :data:`BACKGROUND`.
- Every other mode (``1``, ``L``, ``P``, ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``) goes through
  PIL's conversion, which is exact for them.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from evalsuite.endpoints.errors import NOT_AN_IMAGE, OVERSIZE, EndpointError

BACKGROUND = (255, 255, 255)  # what transparent pixels are composited over (white, as viewers show it)
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def to_rgb(img: Image.Image) -> Image.Image:
    """``img`` as 8-bit RGB, scaled and composited as the module docstring states."""
    if img.mode in _SIXTEEN_BIT:
        values = np.asarray(img).astype(np.float64) * (255.0 / 65535.0)
        return _grey(values)
    if img.mode == "F":
        values = np.nan_to_num(np.asarray(img, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        return _grey(values * 255.0)
    if "A" in img.mode or "a" in img.mode or "transparency" in img.info:
        rgba = img.convert("RGBA") if img.mode != "La" else img.convert("LA").convert("RGBA")
        back = Image.new("RGBA", img.size, (*BACKGROUND, 255))
        return Image.alpha_composite(back, rgba).convert("RGB")
    return img.convert("RGB")


def _grey(values: np.ndarray) -> Image.Image:
    grey = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return Image.fromarray(grey, "L").convert("RGB")


def decode_image(data: bytes) -> Image.Image:
    """Decode ``data`` into an 8-bit RGB image; NOT_AN_IMAGE or OVERSIZE errors otherwise."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                return to_rgb(img)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise EndpointError(OVERSIZE, f"image refused by the decompression-bomb guard: {exc}") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            head = data[:16]
            raise EndpointError(NOT_AN_IMAGE, f"body is not a decodable image ({type(exc).__name__}; "
                                f"{len(data)} bytes starting {head!r})") from None
