"""Decoding endpoint images safely: PIL's decompression-bomb guard stays on, and is strict.

PIL refuses images over ``2 * Image.MAX_IMAGE_PIXELS`` with ``DecompressionBombError`` and
only warns between 1x and 2x; here the warning is an error too, so a provider cannot make
the client decode a huge image. ``MAX_IMAGE_PIXELS`` itself is left as PIL sets it.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from evalsuite.endpoints.errors import NOT_AN_IMAGE, OVERSIZE, EndpointError


def decode_image(data: bytes) -> Image.Image:
    """Decode ``data`` into an RGB image; NOT_AN_IMAGE or OVERSIZE errors otherwise."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                return img.convert("RGB")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise EndpointError(OVERSIZE, f"image refused by the decompression-bomb guard: {exc}") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            head = data[:16]
            raise EndpointError(NOT_AN_IMAGE, f"body is not a decodable image ({type(exc).__name__}; "
                                f"{len(data)} bytes starting {head!r})") from None
