"""Polling a queued job until it settles, bounded by ``max_wait_s`` (fal-queue, replicate)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from evalsuite.endpoints.errors import TIMEOUT, EndpointError
from evalsuite.endpoints.http import EndpointHTTP


async def poll_until(http: EndpointHTTP, url: str, settled: Callable[[Any], bool],
                     call: str = "status") -> Any:
    """GET ``url`` every ``poll_interval_s`` until ``settled(json)``; TIMEOUT past ``max_wait_s``."""
    spec = http.spec
    start = time.monotonic()
    while True:
        state = (await http.request("GET", url, call=call)).json()
        if settled(state):
            return state
        if time.monotonic() - start + spec.poll_interval_s > spec.max_wait_s:
            raise EndpointError(TIMEOUT, f"{call}: job not finished within max_wait_s "
                                f"({spec.max_wait_s:g} s)")
        await http.sleep(spec.poll_interval_s)
