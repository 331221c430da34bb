"""Polling a queued job until it settles, bounded in time and in count (fal-queue, replicate,
openai-videos).

Time alone does not bound a poll loop: a clock that barely moves between polls (a server that
answers at once, sleeps that return early) lets it run thousands of times within
``max_wait_s``. So the number of polls is bounded too, by what ``max_wait_s`` allows at
``poll_interval_s``; whichever limit comes first ends the wait with TIMEOUT.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from evalsuite.endpoints.errors import TIMEOUT, EndpointError
from evalsuite.endpoints.http import EndpointHTTP


def max_polls(max_wait_s: float, poll_interval_s: float) -> int:
    """The most polls one wait may send: one at the start, then one per interval within the wait."""
    return 1 + math.floor(max_wait_s / poll_interval_s)


async def poll_until(http: EndpointHTTP, url: str, settled: Callable[[Any], bool],
                     call: str = "status") -> Any:
    """GET ``url`` every ``poll_interval_s`` until ``settled(json)``; TIMEOUT past ``max_wait_s``
    or after :func:`max_polls` polls."""
    spec = http.spec
    start = time.monotonic()
    limit = max_polls(spec.max_wait_s, spec.poll_interval_s)
    for n in range(1, limit + 1):
        state = (await http.request("GET", url, call=call)).json()
        if settled(state):
            return state
        if n == limit or time.monotonic() - start + spec.poll_interval_s > spec.max_wait_s:
            break
        await http.sleep(spec.poll_interval_s)
    raise EndpointError(TIMEOUT, f"{call}: job not finished within max_wait_s ({spec.max_wait_s:g} s, "
                        f"{n} polls)")
