"""The endpoint generator: a variant's missing images requested over HTTP, stored like local ones.

It writes the same sample rows and PNGs (clips: the lossless copy, MP4 and poster) into the
same store as a local worker, so resume, scoring and reports do not care where an image came
from. Per request it also records the
request and every HTTP attempt (:mod:`evalsuite.endpoints.records`), and per variant it
writes telemetry: latency percentiles, queue/inference time, images per minute, failures
by kind, cost, what the API accepted and whether it honoured the seed.

Requests run concurrently (``concurrency`` in flight) on one event loop; decoding and PNG
writing run in threads so they do not stall other requests' timing. Each sample is
committed as its request ends, so ``kill -9`` loses only the requests in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np

from evalsuite.endpoints.base import ImageRequest, Protocol
from evalsuite.endpoints.prices import cost_per_image, endpoint_price
from evalsuite.endpoints.recorder import Recorder
from evalsuite.endpoints.records import EndpointLog, RequestRow
from evalsuite.endpoints.redact import Redactor
from evalsuite.endpoints.request import Delivery, Target, request_image
from evalsuite.endpoints.spec import EndpointSpec, read_api_key
from evalsuite.endpoints.stats import endpoint_stats
from evalsuite.store.atomic import write_png_atomically
from evalsuite.store.clips import clip_paths, write_clip_atomically
from evalsuite.store.db import Store
from evalsuite.store.paths import RESULTS, telemetry_path
from evalsuite.store.schema import VariantStatus

# A provider that fails this many requests before delivering any image is failing every
# request: the rest of the variant is not sent, the variant is marked failed with the reason.
FAIL_FAST_AFTER = 5
T = TypeVar("T")


@dataclass(frozen=True)
class EndpointItem:
    """One image to request (the same keys a local worker stores under)."""

    prompt_id: str
    text: str
    seed: int


@dataclass(frozen=True)
class EndpointJob:
    """Everything one endpoint variant's generation needs."""

    run_dir: str
    variant_id: str
    variant_name: str
    spec: EndpointSpec
    steps: int
    guidance: float
    width: int
    height: int
    items: tuple[EndpointItem, ...]
    image_dir: str  # relative to run_dir
    seed_offset: int = 0
    store_path: str = RESULTS
    warmup: int = 0  # untimed requests before the timed ones, as a local worker warms up
    guidance_field: str = "guidance_scale"  # the model family's name for guidance
    negative_prompt: str | None = None
    frames: int | None = None  # a video family's clip length (None: images)
    fps: int | None = None

    def request(self, item: EndpointItem) -> ImageRequest:
        """The generation settings of ``item``."""
        return ImageRequest(item.text, item.seed + self.seed_offset, self.steps, self.guidance,
                            self.width, self.height, self.guidance_field, self.negative_prompt,
                            self.frames, self.fps)


@dataclass
class EndpointOutcome:
    """How the variant ended: ``failed`` with a reason, or not."""

    failed: bool
    reason: str | None
    ok: int = 0
    failed_requests: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


FirstOk = tuple[EndpointItem, Any, str]  # the first delivered item, its image (or frames), its bytes' sha256


async def _one(job: EndpointJob, protocol: Protocol, client: httpx.AsyncClient, key: str | None,
               item: EndpointItem, rec: Recorder, untimed: str | None = None,
               **http_options: Any) -> Delivery:
    """Request ``item``'s image (never raises for what the server sent); stopped in flight, it is
    recorded as such before the cancellation goes on."""
    target = Target(job.variant_id, item.prompt_id, item.seed, job.request(item))
    return await request_image(protocol, job.spec, client, key, target,
                               on_stop=lambda got: rec.stop(got, untimed), **http_options)


async def _generate(job: EndpointJob, protocol: Protocol, rec: Recorder, tick: Callable[[int], None],
                    client: httpx.AsyncClient, key: str | None,
                    **http_options: Any) -> tuple[int, list[RequestRow], FirstOk | None]:
    """Run every item with ``concurrency`` in flight; return (ok count, failed rows, first ok)."""
    sem = asyncio.Semaphore(job.spec.concurrency)
    out_dir = Path(job.run_dir) / job.image_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    ok, failed, first_ok, finished = 0, [], None, 0
    stop = asyncio.Event()

    async def run(item: EndpointItem) -> None:
        nonlocal ok, first_ok, finished
        # The slot is held until the request is recorded, so a kill -9 at any moment loses
        # at most ``concurrency`` requests: those sent and not yet stored.
        async with sem:
            if stop.is_set():  # left pending: a rerun sends it
                return
            got = await _one(job, protocol, client, key, item, rec, **http_options)
            rel = f"{job.image_dir}/{item.prompt_id}-{item.seed}.png"
            if got.image is not None:
                try:
                    await asyncio.to_thread(_store, got, Path(job.run_dir), rel)
                except asyncio.CancelledError:  # delivered, not stored: a rerun asks again
                    rec.stop(got)
                    raise
                clip = clip_paths(rel)[0] if got.frames is not None else None
                result = got.result
                row = rec.request(got.row, got.attempts, image=rel, clip=clip,
                                  steps=result.steps if result else None,
                                  expert_steps=result.expert_steps if result else None)
                ok += 1
                first_ok = first_ok or (item, got.frames if got.frames is not None else got.image, row.sha256)
            else:
                failed.append(rec.request(got.row, got.attempts))
                if ok == 0 and len(failed) >= FAIL_FAST_AFTER:
                    stop.set()
        finished += 1
        tick(finished)

    await asyncio.gather(*(run(item) for item in job.items))
    return ok, failed, first_ok


def _store(got: Delivery, run_dir: Path, rel: str) -> None:
    """Write a delivered image as a PNG, or a clip as a local worker does (lossless copy, MP4 and
    poster, each atomically: the sample row is committed only after all are in place)."""
    if got.frames is not None:
        write_clip_atomically(got.frames, got.fps or 1, got.image, run_dir, rel)
    else:
        write_png_atomically(got.image, run_dir / rel)


# Requests outside the variant's statistics, recorded under these outcome/call prefixes.
UNTIMED = ("probe:", "warmup:")


async def _warm_up(job: EndpointJob, protocol: Protocol, client: httpx.AsyncClient, key: str | None,
                   rec: Recorder, **http_options: Any) -> None:
    """``job.warmup`` requests of the first item, one at a time, before anything is timed.

    A local variant's worker warms up before its timed images; an endpoint gets the same, so
    a provider's cold start (model load, autoscaling, caches) is not charged to the first
    timed image. Recorded like every request, apart from the statistics; a failed warm-up
    only says so in its row, and the timed requests still run.
    """
    for _ in range(job.warmup if job.items else 0):
        got = await _one(job, protocol, client, key, job.items[0], rec, "warmup:", **http_options)
        rec.request(got.row, got.attempts, untimed="warmup:")


async def _seed_probe(job: EndpointJob, protocol: Protocol, client: httpx.AsyncClient, key: str | None,
                      rec: Recorder, first: FirstOk, **http_options: Any) -> dict[str, Any]:
    """Send the first delivered image's request again: the same bytes means the seed is honoured."""
    item, image, first_sha = first
    got = await _one(job, protocol, client, key, item, rec, "probe:", **http_options)
    # Kept apart from the variant's own requests: the probe is not part of its statistics.
    row = rec.request(got.row, got.attempts, untimed="probe:")
    if got.image is None:
        return {"seed_honoured": None, "reason": f"the repeated request failed: {row.reason}"}
    again = got.frames if got.frames is not None else got.image  # a clip: every frame compared
    same_pixels = np.array_equal(np.asarray(image), np.asarray(again))
    return {"seed_honoured": bool(same_pixels), "same_bytes": first_sha == row.sha256,
            "same_pixels": bool(same_pixels), "probe": f"{item.prompt_id}-{item.seed}"}


async def _limited(work: Awaitable[T], time_limit_s: float | None,
                   stop_when: Callable[[], Awaitable[None]] | None, rec: Recorder) -> T:
    """``await work``, stopped by the run limit; TimeoutError once the requests in flight are recorded.

    The reason is set before the cancellation, so each request stopped in flight records it.
    """
    task = asyncio.ensure_future(work)
    if time_limit_s is None and stop_when is None:
        return await task
    limit = asyncio.ensure_future(stop_when() if stop_when else asyncio.sleep(time_limit_s or 0))
    try:
        await asyncio.wait((task, limit), return_when=asyncio.FIRST_COMPLETED)
    finally:
        limit.cancel()
    if task.done():
        return task.result()
    rec.stop_reason = "stopped in flight by the run limit" + \
        (f" ([run] timeout_s = {time_limit_s:g} s)" if time_limit_s is not None else "")
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    raise TimeoutError(rec.stop_reason)


def run_endpoint(job: EndpointJob, protocol: Protocol, tick: Callable[[int], None] | None = None,
                 time_limit_s: float | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 stop_when: Callable[[], Awaitable[None]] | None = None,
                 **http_options: Any) -> EndpointOutcome:
    """Generate ``job``'s images through its endpoint; the variant's status says how it went.

    ``tick(n)`` hears how many requests have finished. Past ``time_limit_s`` (the suite's
    ``[run] timeout_s``), or once ``stop_when()`` returns (tests: it replaces the timer, so
    the limit falls at a known point), the requests in flight are recorded as ``timeout``
    failures with that reason and the variant fails. Every reason stored, returned or raised
    is redacted (:class:`Recorder`).
    """
    run_dir = Path(job.run_dir)
    store = Store(run_dir / job.store_path)
    log = EndpointLog(run_dir / job.store_path)
    key = None
    rec = Recorder(store, log, Redactor(None))
    try:
        rec.variant(job.variant_id, VariantStatus.RUNNING, None)
        key = read_api_key(job.spec)
        rec = Recorder(store, log, Redactor(key))

        async def main() -> tuple[int, list[RequestRow], dict[str, Any] | None, float]:
            limits = httpx.Limits(max_connections=job.spec.concurrency + 2)
            async with httpx.AsyncClient(transport=transport, limits=limits, follow_redirects=False,
                                         timeout=httpx.Timeout(job.spec.timeout_s)) as client:
                async def warm_then_generate() -> tuple[float, tuple[int, list[RequestRow], FirstOk | None]]:
                    await _warm_up(job, protocol, client, key, rec, **http_options)
                    start = time.perf_counter()  # the throughput counts the timed requests only
                    return start, await _generate(job, protocol, rec, tick or (lambda _: None),
                                                  client, key, **http_options)

                work = warm_then_generate()
                start, (ok, failed, first) = await _limited(work, time_limit_s, stop_when, rec)
                wall = time.perf_counter() - start  # neither warm-up nor probe is in the throughput
                probe = await _seed_probe(job, protocol, client, key, rec, first, **http_options) \
                    if first else None
            return ok, failed, probe, wall

        try:
            ok, failed, probe, wall = asyncio.run(main())
        except TimeoutError:
            limit = f"after {time_limit_s:g} s" if time_limit_s is not None else "by the run limit"
            reason = f"timed out {limit} ({rec.stopped} requests in flight recorded as timeout)"
            return EndpointOutcome(True, rec.variant(job.variant_id, VariantStatus.FAILED, reason))
        _write_telemetry(job, protocol, log, ok, wall, probe)
        kinds: dict[str, int] = {}
        for row in failed:
            kinds[row.outcome] = kinds.get(row.outcome, 0) + 1
        if failed and ok == 0:
            summary = ", ".join(f"{n} x {k}" for k, n in sorted(kinds.items()))
            reason = f"every request failed ({summary}); first: {failed[0].reason}"[:500]
            return EndpointOutcome(True, rec.variant(job.variant_id, VariantStatus.FAILED, reason), ok,
                                   len(failed), kinds)
        rec.variant(job.variant_id, VariantStatus.OK, None)
        return EndpointOutcome(False, None, ok, len(failed), kinds)
    except BaseException as exc:  # noqa: BLE001 - any failure marks the variant, then propagates
        message = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        reason = rec.variant(job.variant_id, VariantStatus.FAILED, message)
        if isinstance(exc, Exception) and rec.redact(str(exc)) != str(exc):
            # The message quotes the key: raise a redacted copy, without the original chained.
            raise RuntimeError(reason) from None
        raise
    finally:
        log.close()
        store.close()


def _write_telemetry(job: EndpointJob, protocol: Protocol, log: EndpointLog, ok: int, wall: float,
                     probe: dict[str, Any] | None) -> None:
    """Per-variant endpoint telemetry, merged with earlier sessions' (resume keeps their numbers)."""
    path = telemetry_path(Path(job.run_dir), job.variant_name, job.variant_id)
    path.parent.mkdir(exist_ok=True)
    old = json.loads(path.read_text()) if path.is_file() else {}
    sessions = [s for s in old.get("endpoint", {}).get("sessions", []) if s.get("session") != log.session]
    if job.items:
        sessions.append({"session": log.session, "wall_s": wall, "ok": ok, "sent": len(job.items)})
    requests = [r for r in log.requests(job.variant_id) if not r["outcome"].startswith(UNTIMED)]
    price = endpoint_price(job.spec)
    endpoint = {
        "protocol": protocol.name, "url": job.spec.url, "model": job.spec.model,
        "concurrency": job.spec.concurrency, "accepted": protocol.accepted(job.spec),
        "extra": job.spec.extra_dict(),
        "seed_probe": probe if probe is not None else old.get("endpoint", {}).get("seed_probe"),
        "price": None if price is None else {"usd": price.usd, "unit": price.unit, "source": price.source,
                                             "date": price.date},
        "cost_per_image_usd": cost_per_image(price, job.width, job.height),
        "sessions": sessions,
        **endpoint_stats(requests, [a for a in log.attempts(job.variant_id)
                                    if not a["call"].startswith(UNTIMED)], sessions),
    }
    record = {"variant": job.variant_name, "variant_id": job.variant_id, "endpoint": endpoint}
    path.write_text(json.dumps(record, indent=2, default=str))
