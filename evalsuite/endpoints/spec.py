"""An endpoint variant's settings: parsed from ``endpoint = {...}`` in a suite, validated strictly.

Keys never live here: ``api_key_env`` names the environment variable that holds one, and
the key is read only when requests are sent (:func:`read_api_key`).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EndpointSpecError(ValueError):
    """A bad ``endpoint`` table; the message starts with the key at fault."""


@dataclass(frozen=True)
class EndpointSpec:
    """Where and how a variant's images are requested."""

    protocol: str  # a key of evalsuite.endpoints.PROTOCOLS
    url: str  # base URL: e.g. http://127.0.0.1:8000/v1, https://queue.fal.run
    model: str = ""  # the provider's model id (fal-ai/flux/dev, black-forest-labs/flux-dev, ...)
    api_key_env: str | None = None  # name of the environment variable holding the key
    price_per_image: float | None = None
    price_per_megapixel: float | None = None
    concurrency: int = 1  # requests in flight
    timeout_s: float = 120.0  # limit on each HTTP attempt, body included
    # Limit on one image request as a whole: every attempt, read, backoff, poll and download.
    # A server that trickles its body a byte a second never trips a per-read limit, and
    # 4 attempts x timeout_s would keep each request 8 minutes.
    deadline_s: float = 300.0
    max_wait_s: float = 600.0  # limit on polling one queued request (fal-queue, replicate)
    max_retries: int = 3  # retries of one HTTP call after a retryable failure
    poll_interval_s: float = 1.0
    max_body_mb: float = 64.0  # response bodies beyond this are refused ("oversize")
    allow_http: bool = False  # plain HTTP to a non-loopback host
    extra: tuple[tuple[str, Any], ...] = ()  # provider-specific request fields

    def extra_dict(self) -> dict[str, Any]:
        """``extra`` as a dict."""
        return dict(self.extra)

    def identity(self) -> dict[str, Any]:
        """What changes the images (not prices, limits or the key's variable)."""
        return {"protocol": self.protocol, "url": self.url, "model": self.model,
                "extra": self.extra_dict()}

    def to_dict(self) -> dict[str, Any]:
        """The table as a suite file writes it (no defaults dropped, no secrets held)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["extra"] = self.extra_dict()
        return {k: v for k, v in out.items() if v is not None and v != {}}


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (IPv4 127/8, IPv6 ::1)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, allow_http: bool) -> None:
    """Refuse anything but HTTPS, except loopback or ``allow_http``; raise ``EndpointSpecError``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointSpecError(f"url: expected an http(s) URL with a host, got {url!r}")
    if parts.username or parts.password:
        raise EndpointSpecError("url: credentials in the URL are refused (use api_key_env)")
    if parts.scheme == "http" and not allow_http and not is_loopback(parts.hostname):
        raise EndpointSpecError(f"url: {url!r} is plain HTTP to a non-loopback host; use HTTPS "
                                "or set allow_http = true")


def parse_endpoint(raw: Mapping[str, Any], protocols: Mapping[str, Any]) -> EndpointSpec:
    """Validate an ``endpoint`` table; raise ``EndpointSpecError`` naming the key."""
    known = {f.name: f for f in fields(EndpointSpec)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise EndpointSpecError(f"{key}: unknown key (known: {', '.join(known)})")
        expected = {"protocol": str, "url": str, "model": str, "api_key_env": str,
                    "price_per_image": float, "price_per_megapixel": float, "concurrency": int,
                    "timeout_s": float, "deadline_s": float, "max_wait_s": float, "max_retries": int,
                    "poll_interval_s": float, "max_body_mb": float, "allow_http": bool,
                    "extra": dict}[key]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise EndpointSpecError(f"{key}: expected {expected.__name__}, got {type(value).__name__}")
        values[key] = value
    for key in ("protocol", "url"):
        if key not in values:
            raise EndpointSpecError(f"{key}: required")
    if values["protocol"] not in protocols:
        raise EndpointSpecError(f"protocol: unknown protocol {values['protocol']!r} "
                                f"(known: {', '.join(protocols)})")
    env = values.get("api_key_env")
    if env is not None and not _ENV_NAME.match(env):
        raise EndpointSpecError("api_key_env: expected the NAME of an environment variable "
                                "(letters, digits, underscores), never the key itself")
    for key in ("price_per_image", "price_per_megapixel"):
        if values.get(key) is not None and values[key] < 0:
            raise EndpointSpecError(f"{key}: must not be negative")
    if values.get("price_per_image") is not None and values.get("price_per_megapixel") is not None:
        raise EndpointSpecError("price_per_image: give price_per_image or price_per_megapixel, not both")
    limits = {"concurrency": (1, 256), "max_retries": (0, 20), "timeout_s": (0.001, 86400),
              "deadline_s": (0.001, 86400),
              "max_wait_s": (0.001, 86400), "poll_interval_s": (0.001, 3600),
              "max_body_mb": (0.001, 4096)}
    for key, (lo, hi) in limits.items():
        if key in values and not lo <= values[key] <= hi:
            raise EndpointSpecError(f"{key}: {values[key]!r} is outside [{lo}, {hi}]")
    check_url(values["url"], values.get("allow_http", False))
    values["url"] = values["url"].rstrip("/")
    values["extra"] = tuple(sorted(values.get("extra", {}).items()))
    return EndpointSpec(**values)


def read_api_key(spec: EndpointSpec) -> str | None:
    """The key from ``spec.api_key_env``; ``MissingKeyError`` naming the variable when unset."""
    if spec.api_key_env is None:
        return None
    key = os.environ.get(spec.api_key_env, "")
    if not key:
        raise MissingKeyError(spec.api_key_env)
    return key


class MissingKeyError(LookupError):
    """The environment variable named by ``api_key_env`` is unset or empty."""

    def __init__(self, name: str) -> None:
        super().__init__(f"environment variable {name} is not set (it must hold the API key)")
        self.name = name
