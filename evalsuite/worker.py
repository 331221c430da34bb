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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diffusers
import torch
import transformers

from evalsuite.accelerators import ACCELERATORS
from evalsuite.atomic import write_png_atomically
from evalsuite.overrides import effective_model
from evalsuite.pipeline import generate, load_pipeline
from evalsuite.spec import ModelSpec, Variant
from evalsuite.store import SampleRow, Store, telemetry_path

WARMUP_PROMPT = "a photo of a cat"

# Per-component loading bars and truncation notices would drown the runner's own progress.
diffusers.utils.logging.set_verbosity_error()
diffusers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()


@dataclass(frozen=True)
class WorkItem:
    """One image to generate."""

    prompt_id: str
    text: str
    seed: int


@dataclass(frozen=True)
class WorkerJob:
    """Everything a worker needs; picklable."""

    run_dir: str
    variant: Variant
    model: ModelSpec
    device: str
    items: tuple[WorkItem, ...]
    warmup: int
    image_dir: str  # relative to run_dir
    spawned_at: float  # time.time() when the parent started the process
    store_path: str = "results.sqlite"  # relative to run_dir; under torchrun, the rank's shard
    group: Any = None  # a CPGroup when K workers generate each image together (context parallel)


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


def _write_telemetry(run_dir: Path, job: WorkerJob, applied: list[Any], **timings: float | None) -> None:
    """What each accelerator reports about itself (compile time, library stats), one JSON per variant."""
    out = telemetry_path(run_dir, job.variant.name, job.variant.id)
    out.parent.mkdir(exist_ok=True)
    record = {"variant": job.variant.name, "variant_id": job.variant.id, **timings,
              "accelerators": {u.name: a.telemetry() for u, a in zip(job.variant.accelerators, applied,
                                                                        strict=True)}}
    out.write_text(json.dumps(record, indent=2, default=str))


def run_worker(job: WorkerJob, conn: Any) -> None:
    """Entry point of the worker process."""
    _exit_with_parent(conn)
    worker_start_s = time.time() - job.spawned_at
    store = Store(Path(job.run_dir) / job.store_path)
    vid = job.variant.id
    try:
        store.set_variant_status(vid, "running", None, worker_start_s=worker_start_s)
        if job.group is not None:  # before loading: the context_parallel accelerator needs it
            job.group.join(job.device)
        model = effective_model(job.model, job.variant)  # the variant's steps, guidance and size
        start = time.perf_counter()
        pipe = load_pipeline(model, job.device)
        load_s = time.perf_counter() - start
        applied = [ACCELERATORS.get(a.name)().apply(pipe, dict(a.params))
                   for a in job.variant.accelerators]
        counters = [a.counter for a in applied if a.counter is not None]
        calls = [0]
        pipe.transformer.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))

        cold_s = None
        for i in range(job.warmup):
            first = job.items[0] if job.items else WorkItem("", WARMUP_PROMPT, 0)
            gen = generate(pipe, model, job.device, first.text, first.seed)
            cold_s = gen.latency_s if i == 0 else cold_s
        for c in counters:  # warm-up decisions are not part of the run's telemetry
            c.total_skipped = 0
        for a in applied:  # e.g. compilation so far is cold-start cost, not warm latency
            a.warmed_up()

        out_dir = Path(job.run_dir) / job.image_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        for item in job.items:
            for c in counters:
                c.reset()
            calls[0] = 0
            if job.device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats(job.device)
            # The noise-floor variant draws other seeds but stores under the original keys.
            gen = generate(pipe, model, job.device, item.text, item.seed + job.variant.seed_offset)
            if job.group is not None and not job.group.leader:
                continue  # every member holds the same image; the group's leader stores it
            skipped = sum(c.skipped for c in counters)
            rel = f"{job.image_dir}/{item.prompt_id}-{item.seed}.png"
            write_png_atomically(gen.image, Path(job.run_dir) / rel)
            store.put_sample(SampleRow(
                vid, item.prompt_id, item.seed, "flagged" if gen.flag else "ok",
                gen.latency_s, _peak_memory(job.device), calls[0] - skipped, skipped, rel, gen.flag,
            ))
        checks = [msg for a in applied if (msg := a.check())] if job.items else []
        if job.group is None or job.group.leader:
            _write_telemetry(Path(job.run_dir), job, applied, load_s=load_s, cold_s=cold_s)
        if job.group is not None:
            job.group.leave()
        store.set_variant_status(vid, "ok", None, load_s=load_s, cold_s=cold_s,
                                 checks=json.dumps(checks))
    except BaseException as exc:  # noqa: BLE001 - any failure marks the variant, then exits
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        store.set_variant_status(vid, "failed", reason)
        raise SystemExit(1) from None
    finally:
        store.close()
