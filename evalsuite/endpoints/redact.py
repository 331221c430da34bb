"""The one redaction point: every failure reason passes through :class:`Redactor` before it is
stored or printed (:mod:`evalsuite.endpoints.recorder` owns the only instance per variant).

A server controls much of what a reason quotes (error bodies, content types, redirect
targets, result URLs, bytes that fail to decode), so redacting where each message is made
misses some. Removing the key alone is not enough either: a quoted snippet cut at 200 bytes,
or an answer that quotes the key's first 16 bytes, leaks most of it. So any piece of the key
of :data:`MIN_PIECE` characters or more is removed, in any letter case (a content type is
lower-cased before it is quoted).
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_PIECE = 8  # a shorter run of the key's characters says too little to matter
MARK = "[redacted]"


@dataclass(frozen=True)
class Redactor:
    """Removes a secret, and every piece of it of ``MIN_PIECE`` characters or more, from text."""

    secret: str | None

    def __call__(self, text: str) -> str:
        """``text`` with each run of characters covered by a piece of the secret replaced by MARK."""
        secret = (self.secret or "").lower()
        if len(secret) < 4:  # no key, or one so short that removing it would blank ordinary words
            return text
        size = min(MIN_PIECE, len(secret))  # a key shorter than a piece is removed whole
        pieces = {secret[i:i + size] for i in range(len(secret) - size + 1)}
        low = text.lower()
        covered = [False] * len(text)
        for i in range(len(text) - size + 1):
            if low[i:i + size] in pieces:
                covered[i:i + size] = [True] * size
        out, i = [], 0
        while i < len(text):
            if not covered[i]:
                out.append(text[i])
                i += 1
                continue
            while i < len(text) and covered[i]:
                i += 1
            out.append(MARK)
        return "".join(out)

    def optional(self, text: str | None) -> str | None:
        """Like calling it, with None passed through."""
        return None if text is None else self(text)
