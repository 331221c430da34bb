"""Generators: what turns a variant's pending items into stored sample rows and PNGs.

The orchestration (:mod:`evalsuite.run.phases`) hands each variant's share of work to
:func:`generator_for`; a :class:`LocalWorker` runs it in a fresh worker process, and an
endpoint variant's generator sends it to a server. Both write the same rows into the same
store and report failure the same way, so resume, scoring and reports do not care which.

Worker supervision (start, timeout kill, group abort, signal names, status fix-up, and
:func:`alternate`, two workers timing in turns) lives here and nowhere else.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.forkserver
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from evalsuite.progress import Progress
from evalsuite.run.work import WorkerJob
from evalsuite.store.db import Store
from evalsuite.store.schema import VariantStatus
from evalsuite.suite.types import Variant

POLL_S = 0.25  # how often a supervisor looks at its worker and the store


class Abort(Protocol):
    """A flag shared by the members of a context-parallel group."""

    def raised(self) -> str | None:
        """Who raised it (e.g. "rank 1"), or None."""

    def raise_flag(self) -> None:
        """Tell the other members that this one failed."""


class Generator(Protocol):
    """Generates one variant's share of items into ``store``; returns why it failed, or None."""

    def run(self, job: WorkerJob, store: Store, timeout: float | None, progress: Progress,
            abort: Abort | None = None) -> str | None:
        """Generate ``job.items``, reporting progress; record and return a failure's reason."""


def generator_for(variant: Variant) -> Generator:
    """The generator for ``variant``: a local worker process, or an HTTP client for an endpoint."""
    if variant.endpoint is not None:
        from evalsuite.run.endpoint_variants import EndpointGenerator  # httpx only when needed

        return EndpointGenerator()
    return LocalWorker()


def worker_context() -> mp.context.BaseContext:
    """The forkserver that forks every worker.

    It imports torch + diffusers once (preloaded below) and forks each worker from that
    state: fresh class state per variant without paying the import again, and no CUDA
    state inherited from the parent.
    """
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["evalsuite.run.worker"])
    return ctx


def start_worker_server() -> None:
    """Start the forkserver now, so its imports overlap whatever this process does next.

    Without this it starts with the first worker, and its torch + diffusers import then
    adds to the run's wall time instead of running beside the parent's own imports.
    """
    worker_context()
    # Not in the docs, but the public name behind every forkserver Process.start(); the
    # generators tests fail loudly if it moves.
    multiprocessing.forkserver.ensure_running()


def _worker_main(job: WorkerJob, conn: Any) -> None:
    # Imported here so the parent never imports torch for the target's sake; the
    # forkserver has preloaded it, so a worker pays nothing.
    from evalsuite.run.worker import run_worker

    run_worker(job, conn)


class LocalWorker:
    """A worker process per variant, forked from the preloaded forkserver."""

    def run(self, job: WorkerJob, store: Store, timeout: float | None, progress: Progress,
            abort: Abort | None = None) -> str | None:
        """Run one worker to the end; record and return why it failed, or None.

        In a context-parallel group a failed member would leave the others blocked in a
        collective, so a failing member raises ``abort`` and the others' supervisors stop
        their workers when they see it.
        """
        ctx = worker_context()
        parent_end, child_end = ctx.Pipe()
        job = replace(job, spawned_at=time.time())
        proc = ctx.Process(target=_worker_main, args=(job, child_end), name=f"evalsuite-{job.variant.name}")
        proc.start()
        child_end.close()
        vid, keys = job.variant.id, {i.key for i in job.items}
        progress.start(job.variant.name, len(keys))
        reason, start = None, time.monotonic()
        while proc.is_alive():
            if timeout is not None and time.monotonic() - start > timeout:
                reason = f"timed out after {timeout} s"
            elif abort is not None and (who := abort.raised()):
                reason = f"stopped: {who} of its group failed"
            if reason:
                proc.kill()
                break
            proc.join(POLL_S if timeout is None else min(POLL_S, timeout))
            progress.update(len(store.done_keys(vid) & keys))
        proc.join()
        parent_end.close()
        progress.update(len(store.done_keys(vid) & keys))  # the last sample lands as it exits
        return self._settle(store, vid, proc.exitcode, reason, abort)

    @staticmethod
    def _settle(store: Store, vid: str, exitcode: int | None, reason: str | None,
                abort: Abort | None) -> str | None:
        """The variant's final status: the worker's own, or why it died without saying."""
        if reason is None and exitcode is not None and exitcode < 0:
            sig = signal.Signals(-exitcode).name
            reason = f"worker killed by {sig}" + (" (out of host memory?)" if sig == "SIGKILL" else "")
        row = store.variant(vid)
        if reason is None and row.status != VariantStatus.OK:
            reason = row.error or f"worker exited with code {exitcode}"
        if reason is not None:
            if reason != row.error or row.status != VariantStatus.FAILED:
                store.set_variant_status(vid, VariantStatus.FAILED, reason)
            if abort is not None:
                abort.raise_flag()
        return reason


@dataclass(frozen=True)
class Turns:
    """Lets a worker time one image at a time, when its supervisor says (see :func:`alternate`).

    Two semaphores of the worker context, handed to the worker in its job when it starts:
    the supervisor releases ``go`` once per image, the worker releases ``done`` once that
    image is stored. A worker waiting for its turn uses no CPU and no device time.
    """

    go: Any
    done: Any

    def wait(self) -> None:
        """In the worker: block until it is this worker's turn to time an image."""
        self.go.acquire()

    def finished(self) -> None:
        """In the worker: the image of this turn is stored."""
        self.done.release()


class _Stopped(Exception):
    """A worker of an alternation died or ran out of time: stop them all."""


def alternate(jobs: Sequence[WorkerJob], schedule: Sequence[int], store: Store, timeout: float | None,
              progress: Progress) -> list[str | None]:
    """Run the workers of ``jobs`` at once and let them time their images in turns.

    Every worker loads and warms up as usual (side by side), then waits. ``schedule`` says
    whose turn each timed image is: the k-th time worker i is named, it times its k-th
    item, and nobody else generates meanwhile. Images of different workers are thus timed
    next to each other, so a change in the machine's load reaches both sides of a pair.

    Args:
        jobs: one local (non-endpoint, non-group) job each; ``jobs[i].items`` in turn order.
        schedule: worker indices, each named ``len(jobs[i].items)`` times.
        store: the store the jobs write to (their variants registered).
        timeout: wall-clock limit of the whole alternation, seconds (None: none).
        progress: where the bar goes.

    Returns:
        Per job, why it failed (recorded on its variant), or None. When one fails, the
        others are stopped.
    """
    ctx = worker_context()
    turns = [Turns(ctx.Semaphore(0), ctx.Semaphore(0)) for _ in jobs]
    procs, pipes = [], []
    for job, turn in zip(jobs, turns, strict=True):
        parent_end, child_end = ctx.Pipe()
        job = replace(job, spawned_at=time.time(), turns=turn)
        proc = ctx.Process(target=_worker_main, args=(job, child_end), name=f"evalsuite-{job.variant.name}")
        proc.start()
        child_end.close()
        procs.append(proc)
        pipes.append(parent_end)
    reasons: list[str | None] = [None] * len(jobs)
    start = time.monotonic()
    progress.start(" / ".join(j.variant.name for j in jobs), len(schedule))
    finished = False
    try:
        for n, who in enumerate(schedule):
            turns[who].go.release()
            while not turns[who].done.acquire(timeout=POLL_S):
                if not procs[who].is_alive():  # its own exit code or record says why
                    raise _Stopped
                if timeout is not None and time.monotonic() - start > timeout:
                    reasons[who] = f"timed out after {timeout} s"
                    raise _Stopped
            progress.update(n + 1)
        finished = True
    except _Stopped:
        for i, proc in enumerate(procs):
            if proc.is_alive() and reasons[i] is None:
                reasons[i] = "stopped: the other worker of its alternation failed"
    finally:
        for proc, end in zip(procs, pipes, strict=True):
            if not finished:  # a worker waiting for a turn that never comes would never exit
                proc.kill()
            proc.join()
            end.close()
    return [LocalWorker._settle(store, job.variant.id, proc.exitcode, reason, None)
            for job, proc, reason in zip(jobs, procs, reasons, strict=True)]
