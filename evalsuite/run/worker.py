"""The worker: generates one variant's missing images in a process of its own.

Acceleration libraries keep state on classes (ParaAttention patches the pipeline class,
TeaCache ports keep state on the transformer class, compiled graphs and CUDA OOMs leak), so
each variant gets fresh interpreter state. The runner forks workers from a forkserver that
has already imported torch and diffusers (preloaded below), which keeps the start cheap.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import threading
import time
from pathlib import Path
from typing import Any

import diffusers
import torch
import tqdm
import transformers

from evalsuite.hardware.measure import VariantMeasure, torch_group_sum
from evalsuite.models.calibration import resolve_uses
from evalsuite.models.families import family_of
from evalsuite.models.pipeline import apply_accelerators, generate, load_pipeline
from evalsuite.models.steps import DenoiserSteps
from evalsuite.run.work import WorkerJob, WorkItem
from evalsuite.store.atomic import write_png_atomically
from evalsuite.store.clips import clip_paths, write_clip_atomically
from evalsuite.store.db import SampleRow, Store
from evalsuite.store.paths import telemetry_path, trace_path
from evalsuite.store.schema import SampleStatus, VariantStatus
from evalsuite.suite.overrides import effective_model

WARMUP_PROMPT = "a photo of a cat"
RESERVE_BYTES = 16 << 20
_UNRECORDED = b"evalsuite worker: failed, and could not record why (out of memory?)\n"

# Per-component loading bars and truncation notices would drown the runner's own progress.
diffusers.utils.logging.set_verbosity_error()
diffusers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
# tqdm's default lock is a multiprocessing RLock, a named semaphore registered with the
# runner's resource tracker; a worker killed (timeout, group abort) never unregisters it,
# and the runner then ends with "leaked semaphore objects". A worker's bars never cross
# processes, so a thread lock is all they need.
tqdm.tqdm.set_lock(threading.RLock())


def _peak_memory(device: str) -> int:
    if device.startswith("cuda"):
        return int(torch.cuda.max_memory_allocated(device))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _exit_with_parent(conn: Any) -> None:
    """Die with the runner: a worker that outlives it would race the next run's writes."""
    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            conn.recv()
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _write_telemetry(run_dir: Path, job: WorkerJob, applied: list[Any], measured: dict[str, Any],
                     **timings: float | None) -> None:
    """What each accelerator reports about itself (compile time, library stats), the energy
    meter and the GPU state (``measured``), one JSON per variant."""
    out = telemetry_path(run_dir, job.variant.name, job.variant.id)
    out.parent.mkdir(exist_ok=True)
    record = {"variant": job.variant.name, "variant_id": job.variant.id, **timings, **measured,
              "accelerators": {u.name: a.telemetry() for u, a in zip(job.variant.accelerators, applied,
                                                                        strict=True)}}
    out.write_text(json.dumps(record, indent=2, default=str))


def failure_reason(exc: BaseException) -> str:
    """One line saying why the worker failed."""
    text = str(exc).splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, MemoryError):
        text = text or "out of memory"
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


def _record_failure(store: Store, vid: str, exc: BaseException) -> None:
    """Record why the worker failed; when even that fails, say so in one line on stderr.

    The caller has freed its memory reserve. Dropping the traceback frees the frames'
    locals too (e.g. a half-loaded pipeline), so a MemoryError can be recorded.
    """
    exc.__traceback__ = None
    exc.__context__ = None
    try:
        store.set_variant_status(vid, VariantStatus.FAILED, failure_reason(exc))
    except BaseException:  # noqa: BLE001 - nothing left to try; the runner records the exit code
        os.write(2, _UNRECORDED)


def run_worker(job: WorkerJob, conn: Any) -> None:
    """Entry point of the worker process."""
    # Freed first when anything fails: recording the failure must not need memory the
    # failure (e.g. a memory cap with no headroom) has just used up.
    reserve = bytearray(RESERVE_BYTES)
    _exit_with_parent(conn)
    worker_start_s = time.time() - job.spawned_at
    vid = job.variant.id
    with Store(Path(job.run_dir) / job.store_path) as store:
        try:
            store.set_variant_status(vid, VariantStatus.RUNNING, None, worker_start_s=worker_start_s)
            if job.group is not None:  # before loading: the context_parallel accelerator needs it
                job.group.join(job.device)
            model = effective_model(job.model, job.variant)  # the variant's steps, guidance and size
            start = time.perf_counter()
            pipe = load_pipeline(model, job.device)
            load_s = time.perf_counter() - start
            uses, fits = job.variant.accelerators, {}
            if job.calibration_items:  # on the model as loaded, before any technique, untimed
                resolved = resolve_uses(pipe, model, family_of(model, pipe), uses,
                                        [(i.prompt_id, i.text, i.seed) for i in job.calibration_items],
                                        job.device)
                uses, fits = resolved.uses, resolved.records
            family, applied = apply_accelerators(pipe, model, uses)
            for use, a in zip(uses, applied, strict=True):
                if use.name in fits:
                    a.notes["calibration"] = dict(fits[use.name])
            steps = DenoiserSteps(pipe, family, applied)

            cold_s = None
            for i in range(job.warmup):
                first = job.items[0] if job.items else WorkItem("", WARMUP_PROMPT, 0)
                gen = generate(pipe, model, job.device, first.text, first.seed, family)
                cold_s = gen.latency_s if i == 0 else cold_s
            steps.forget_warmup()  # warm-up decisions are not part of the run's telemetry
            for a in applied:  # e.g. compilation so far is cold-start cost, not warm latency
                a.warmed_up()

            out_dir = Path(job.run_dir) / job.image_dir
            out_dir.mkdir(parents=True, exist_ok=True)
            # Energy around each timed image (a CP group sums its GPUs), GPU state around them all.
            measure = VariantMeasure(job.device,
                                     torch_group_sum(job.device) if job.group is not None else None)
            measure.begin()
            for item in job.items:
                if job.turns is not None:  # a speed trial: the other variant's worker times in between
                    job.turns.wait()
                steps.reset()
                if job.device.startswith("cuda"):
                    torch.cuda.reset_peak_memory_stats(job.device)
                # The noise-floor variant draws other seeds but stores under the original keys.
                with measure.image():
                    gen = generate(pipe, model, job.device, item.text, item.seed + job.variant.seed_offset,
                                   family)
                if job.group is not None and not job.group.leader:
                    continue  # every member holds the same image; the group's leader stores it
                counted = steps.counts()
                rel = f"{job.image_dir}/{item.prompt_id}-{item.seed}.png"
                clip = None
                if gen.frames is not None:  # lossless copy, MP4, then the poster, each atomic
                    write_clip_atomically(gen.frames, model.fps or 1, gen.image, Path(job.run_dir), rel)
                    clip = clip_paths(rel)[0]
                else:
                    write_png_atomically(gen.image, Path(job.run_dir) / rel)
                store.put_sample(SampleRow(
                    vid, item.prompt_id, item.seed, SampleStatus.FLAGGED if gen.flag else SampleStatus.OK,
                    gen.latency_s, _peak_memory(job.device), counted.computed, counted.skipped, rel,
                    gen.flag, measure.joules, clip, counted.experts,
                ))
                if job.turns is not None:
                    job.turns.finished()
            measure.end()
            checks = [msg for a in applied if (msg := a.check())] if job.items else []
            if job.trace_items and job.group is None:  # untimed, after any timed images
                from evalsuite.models.tracing import record_traces

                if job.trace_experts:  # evalsuite calibrate: a file per transformer
                    from evalsuite.models.tracing import record_expert_traces

                    checks += record_expert_traces(
                        pipe, model, job.device, job.trace_items,
                        lambda name: Path(job.run_dir) / job.trace_file.replace("{transformer}", name),
                        family, job.trace_fn)
                else:
                    into = (Path(job.run_dir) / job.trace_file if job.trace_file
                            else trace_path(Path(job.run_dir), job.variant.name, vid))
                    checks += record_traces(pipe, model, job.device, job.trace_items, into, job.trace_fn)
            if (job.group is None or job.group.leader) and job.telemetry:
                _write_telemetry(Path(job.run_dir), job, applied, measure.telemetry(), load_s=load_s,
                                 cold_s=cold_s)
            if job.group is not None:
                job.group.leave()
            store.set_variant_status(vid, VariantStatus.OK, None, load_s=load_s, cold_s=cold_s,
                                     checks=json.dumps(checks))
        except BaseException as exc:  # noqa: BLE001 - any failure marks the variant, then exits
            del reserve
            _record_failure(store, vid, exc)
            raise SystemExit(1) from None
