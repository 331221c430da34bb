"""HTTP for endpoints: bounded retries, size caps, safe redirects, the key kept to its host.

One :class:`EndpointHTTP` serves one image: every attempt of every call it makes is kept in
``attempts`` (nothing is retried or dropped silently). It shares one ``httpx.AsyncClient``
with the other images of the variant.

- Retries: only for kinds in :data:`~evalsuite.endpoints.errors.RETRYABLE`, at most
  ``max_retries`` per call, exponential backoff with jitter, never sooner than the server's
  ``Retry-After``.
- The key goes only to the origin (scheme, host, port) of the endpoint's URL: not along a
  redirect to another host, not to a CDN that serves the result.
- Bodies are read as a stream and refused past ``max_body_mb`` decoded bytes
  (:mod:`evalsuite.endpoints.decoding`).
- Error messages may quote what the server sent, the key included: they are redacted where
  they are recorded (:mod:`evalsuite.endpoints.recorder`), the one redaction point.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from evalsuite.endpoints.decoding import ACCEPT_ENCODING, CappedDecoder
from evalsuite.endpoints.errors import (
    BAD_RESPONSE,
    CLIENT_ERROR,
    CONNECTION,
    OVERSIZE,
    RATE_LIMITED,
    REDIRECT,
    RETRYABLE,
    SERVER_ERROR,
    TIMEOUT,
    TRUNCATED,
    WRONG_CONTENT_TYPE,
    EndpointError,
)
from evalsuite.endpoints.spec import EndpointSpec, EndpointSpecError, check_url

if TYPE_CHECKING:  # at run time, imported where a request is made: validating a suite skips it
    import httpx

MAX_REDIRECTS = 5
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt and how it ended."""

    call: str  # what the protocol was doing: generate, submit, status, result, download
    attempt: int  # 1-based within the call
    started: float  # time.time()
    elapsed_s: float
    status: int | None  # HTTP status, when one came back
    outcome: str  # "ok" or a failure kind
    detail: str | None = None  # raw: the recorder redacts it
    wait_s: float = 0.0  # backoff slept after this attempt before the next


@dataclass(frozen=True)
class _Body:
    """What a request sends: a JSON body, form fields, or nothing."""

    json: Any
    form: Mapping[str, str] | None


@dataclass(frozen=True)
class Response:
    """A complete, size-checked response."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    def json(self) -> Any:
        """The body as JSON, or a BAD_RESPONSE error."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EndpointError(BAD_RESPONSE, f"body is not valid JSON ({exc})") from None
        except RecursionError:  # e.g. 200,000 nested "[": the parser recurses per level
            raise EndpointError(BAD_RESPONSE, "body is JSON nested too deeply to parse") from None


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports filled in."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_s(attempt: int, rng: random.Random, base_s: float = BACKOFF_BASE_S,
              server_s: float | None = None) -> float:
    """Wait before retry ``attempt`` (1-based): exponential with jitter, at least ``server_s``."""
    ceiling = min(BACKOFF_CAP_S, base_s * 2 ** (attempt - 1))
    wait = ceiling / 2 + rng.uniform(0, ceiling / 2)  # jitter spreads clients apart
    return max(wait, server_s or 0.0)


class EndpointHTTP:
    """HTTP calls for one image, with every attempt recorded in ``attempts``."""

    def __init__(self, client: httpx.AsyncClient, spec: EndpointSpec, key: str | None,
                 auth_scheme: str, rng: random.Random | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None,
                 backoff_base_s: float = BACKOFF_BASE_S) -> None:
        import asyncio  # here and in request(): validating a suite never makes a request

        self.client = client
        self.spec = spec
        self._key = key
        self._auth_scheme = auth_scheme
        self._home = origin(spec.url)
        self._rng = rng or random.Random()
        self.sleep = sleep or asyncio.sleep
        self._backoff_base_s = backoff_base_s
        self.attempts: list[Attempt] = []

    def __repr__(self) -> str:  # never show the key
        return f"EndpointHTTP({self.spec.url!r}, key={'set' if self._key else 'none'})"

    def _headers(self, url: str) -> dict[str, str]:
        headers = {"Accept-Encoding": ACCEPT_ENCODING}  # bodies decode against the cap (decoding.py)
        if self._key and origin(url) == self._home:
            headers["Authorization"] = f"{self._auth_scheme} {self._key}"
        return headers

    async def request(self, method: str, url: str, *, call: str, json_body: Any = None,
                      form: Mapping[str, str] | None = None, expect: str | None = "json") -> Response:
        """Send with retries; ``expect`` is "json", "image", "video" or None (any content type).

        ``form`` sends the fields as ``multipart/form-data`` instead of a JSON body (vLLM-Omni's
        ``POST /v1/videos`` reads form fields only).
        """
        import asyncio

        body = _Body(json_body, form)
        for n in range(1, self.spec.max_retries + 2):
            started, t0 = time.time(), time.perf_counter()
            try:
                resp = await asyncio.wait_for(self._send(method, url, body), self.spec.timeout_s)
                _check(resp, expect)
            except asyncio.CancelledError:  # the request's deadline, or the run limit: say so
                self.attempts.append(Attempt(call, n, started, time.perf_counter() - t0, None, TIMEOUT,
                                             "stopped in flight (the request's deadline or the run limit)"))
                raise
            except TimeoutError:
                err = EndpointError(TIMEOUT, f"no complete response within {self.spec.timeout_s:g} s")
            except EndpointError as exc:
                err = exc
            else:
                self.attempts.append(Attempt(call, n, started, time.perf_counter() - t0,
                                             resp.status, "ok"))
                return resp
            detail = str(err)
            wait = None
            if err.kind in RETRYABLE and n <= self.spec.max_retries:
                wait = backoff_s(n, self._rng, self._backoff_base_s, err.retry_after_s)
                if wait > self.spec.max_wait_s:  # the server asks for longer than we may wait
                    detail += f"; Retry-After {wait:.0f} s exceeds max_wait_s"
                    wait = None
            self.attempts.append(Attempt(call, n, started, time.perf_counter() - t0, err.status,
                                         err.kind, detail, wait or 0.0))
            if wait is None:
                suffix = f" (after {n} attempts)" if n > 1 else ""
                raise EndpointError(err.kind, f"{call}: {detail}{suffix}", err.status)
            await self.sleep(wait)
        raise AssertionError("unreachable")  # the loop always returns or raises

    async def _send(self, method: str, url: str, body: _Body) -> Response:
        import httpx  # here, not at the top: validating a suite never makes a request

        for _ in range(MAX_REDIRECTS + 1):
            try:
                check_url(url, self.spec.allow_http)
            except EndpointSpecError as exc:
                raise EndpointError(REDIRECT, f"refused {url!r}: {exc}") from None
            try:
                # (None, value): a multipart field without a file name, as curl -F sends it.
                files = {k: (None, v) for k, v in body.form.items()} if body.form is not None else None
                request = self.client.build_request(method, url, json=body.json, files=files,
                                                    headers=self._headers(url))
            except httpx.InvalidURL as exc:  # e.g. a provider's result URL that does not parse
                raise EndpointError(BAD_RESPONSE, f"invalid URL {url!r}: {exc}") from None
            try:
                resp = await self.client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                raise EndpointError(TIMEOUT, f"{type(exc).__name__}: {exc}") from None
            except httpx.HTTPError as exc:
                raise EndpointError(CONNECTION, f"{type(exc).__name__}: {exc}") from None
            try:
                location = resp.headers.get("location")
                if resp.status_code in _REDIRECTS and location:
                    # Followed by hand so the key is re-decided for each hop's host.
                    url = urljoin(url, location)
                    if resp.status_code == 303 or (resp.status_code in (301, 302) and method == "POST"):
                        method, body = "GET", _Body(None, None)
                    continue
                body = await self._read_capped(resp)
            finally:
                await resp.aclose()
            return Response(resp.status_code, resp.headers, body, url)
        raise EndpointError(REDIRECT, f"more than {MAX_REDIRECTS} redirects")

    async def _read_capped(self, resp: httpx.Response) -> bytes:
        import httpx

        cap = int(self.spec.max_body_mb * 1024 * 1024)
        cap_text = f"{self.spec.max_body_mb:g} MiB"
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise EndpointError(OVERSIZE, f"body of {int(declared)} bytes exceeds max_body_mb "
                                f"({cap_text})", resp.status_code)
        # Pieces joined once at the end: a growing buffer's reallocations left ~3x the cap behind.
        pieces: list[bytes] = []
        decoder = None
        try:
            decoder = CappedDecoder(resp.headers.get("content-encoding"), cap, cap_text)
            async for chunk in resp.aiter_raw():  # raw: decoded here, against the cap (decoding.py)
                pieces.extend(decoder.feed(chunk))
            decoder.finish()
            return b"".join(pieces)
        except EndpointError as exc:
            raise EndpointError(exc.kind, str(exc), resp.status_code) from None
        except httpx.TimeoutException as exc:
            raise EndpointError(TIMEOUT, f"reading the body: {type(exc).__name__}",
                                resp.status_code) from None
        except httpx.HTTPError as exc:  # e.g. the peer closed before Content-Length was reached
            got = decoder.size if decoder else 0
            raise EndpointError(TRUNCATED, f"body cut short after {got} bytes "
                                f"({type(exc).__name__}: {exc})", resp.status_code) from None
        finally:
            # A raised error's traceback keeps this frame, and so the pieces, alive until the
            # garbage collector runs: a run of bombs held one cap per request. Free them now.
            pieces.clear()


def _check(resp: Response, expect: str | None) -> None:
    """Raise the failure kind for a non-2xx status or an unexpected content type."""
    status = resp.status
    snippet = resp.body[:200].decode("utf-8", "replace").replace("\n", " ")
    if status == 429:
        raise EndpointError(RATE_LIMITED, f"HTTP 429 rate limited: {snippet}", status,
                            retry_after(resp.headers))
    if status >= 500:
        raise EndpointError(SERVER_ERROR, f"HTTP {status}: {snippet}", status, retry_after(resp.headers))
    if status >= 400:
        raise EndpointError(CLIENT_ERROR, f"HTTP {status}: {snippet}", status)
    if not 200 <= status < 300:
        raise EndpointError(BAD_RESPONSE, f"unexpected HTTP {status}", status)
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if expect == "json" and not (ctype == "application/json" or ctype.endswith("+json")):
        raise EndpointError(WRONG_CONTENT_TYPE, f"expected JSON, got content type {ctype or 'none'!r}",
                            status)
    if expect in ("image", "video") and not (ctype.startswith(f"{expect}/") or
                                             ctype == "application/octet-stream"):
        raise EndpointError(WRONG_CONTENT_TYPE, f"expected {'an image' if expect == 'image' else 'a video'}, "
                            f"got content type {ctype or 'none'!r}", status)


async def fetch_image(http: EndpointHTTP, url: str, call: str = "download") -> bytes:
    """The bytes behind an output URL: a ``data:`` URI is decoded, anything else downloaded."""
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        if ";base64" not in header:
            raise EndpointError(BAD_RESPONSE, "data URI without base64 payload")
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise EndpointError(BAD_RESPONSE, "data URI payload is not valid base64") from None
    return (await http.request("GET", url, call=call, expect="image")).body
