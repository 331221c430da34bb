"""Response bodies decoded against the size cap, so ``max_body_mb`` bounds memory.

httpx decodes ``Content-Encoding`` by itself, and one call on a 590-byte chunk of gzip of
gzip of zeros returns 256 MiB before any cap can look at it. So bodies are read raw
(``aiter_raw``) and decoded here, a bounded piece at a time (``decompress(data,
max_length)``), counting decoded bytes against the cap. Requests ask for ``identity``; a
server that still encodes may use one layer of ``gzip`` (multi-member included) or
``deflate`` (zlib-wrapped or raw). Stacked layers and unknown codings are refused: each
extra layer multiplies what a few bytes can become, and no provider needs one.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from evalsuite.endpoints.errors import BAD_RESPONSE, OVERSIZE, TRUNCATED, EndpointError

ACCEPT_ENCODING = "identity"
PIECE = 256 * 1024  # decoded bytes handed over at a time
_GZIP = ("gzip", "x-gzip")


def codings(header: str | None) -> list[str]:
    """The content codings of a Content-Encoding header, ``identity`` dropped."""
    return [c for c in (part.strip().lower() for part in (header or "").split(",")) if c and c != "identity"]


class CappedDecoder:
    """Decodes one response body incrementally; OVERSIZE once it passes ``cap`` decoded bytes."""

    def __init__(self, header: str | None, cap: int, cap_text: str) -> None:
        found = codings(header)
        if len(found) > 1:
            raise EndpointError(BAD_RESPONSE, f"stacked Content-Encoding {header!r} refused "
                                "(one layer of gzip or deflate at most)")
        if found and found[0] not in (*_GZIP, "deflate"):
            raise EndpointError(BAD_RESPONSE, f"unsupported Content-Encoding {found[0]!r} "
                                "(identity, gzip or deflate)")
        self.coding = found[0] if found else None
        self.cap = cap
        self._cap_text = cap_text
        self.size = 0  # decoded bytes so far
        self._raw = 0  # encoded bytes so far
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 16 if self.coding in _GZIP else zlib.MAX_WBITS)

    def _count(self, out: bytes) -> bytes:
        self.size += len(out)
        if self.size > self.cap:
            what = "decoded body" if self.coding else "body"
            raise EndpointError(OVERSIZE, f"{what} exceeds max_body_mb ({self._cap_text})")
        return out

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of the next raw chunk, in pieces of at most ``PIECE`` bytes.

        Small pieces keep the peak near the cap: the caller's buffer plus one piece, never
        the buffer plus a cap-sized piece.
        """
        if self.coding is None:
            yield self._count(data)
            return
        if self._raw == 0 and self.coding == "deflate" and data and not _zlib_header(data):
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)  # RFC 9110 says zlib-wrapped; some send raw
        self._raw += len(data)
        while data:
            try:
                # At most one byte past the cap in all: a bomb cannot expand before the check.
                piece = self._z.decompress(data, min(PIECE, self.cap - self.size + 1))
            except zlib.error as exc:
                raise EndpointError(BAD_RESPONSE, f"{self.coding} body does not decode ({exc})") from None
            yield self._count(piece)
            if self._z.eof:
                data = self._z.unused_data
                if data and self.coding in _GZIP:  # the next member of a multi-member gzip
                    self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
                    continue
                break  # bytes after a deflate stream's end are ignored, as zlib does
            data = self._z.unconsumed_tail

    def finish(self) -> None:
        """TRUNCATED when the encoded stream stopped before its end."""
        if self.coding is not None and self._raw and not self._z.eof:
            raise EndpointError(TRUNCATED, f"{self.coding} body ends before its stream does")


def _zlib_header(data: bytes) -> bool:
    """Whether ``data`` starts with a zlib header (deflate method, valid check bits)."""
    return (data[0] & 0x0F) == 8 and (len(data) < 2 or ((data[0] << 8) | data[1]) % 31 == 0)
