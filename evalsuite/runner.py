"""The runner: prepares the run folder, runs one worker process per variant, then scores
and reports. Running the same suite again into the same folder resumes it.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing as mp
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

import prompts as prompt_sets
from evalsuite.errors import UserError
from evalsuite.manifest import write_manifest
from evalsuite.progress import Reporter
from evalsuite.spec import Suite
from evalsuite.store import Store, image_dir
from evalsuite.worker import WorkerJob, WorkItem, run_worker


@dataclass
class RunOutcome:
    """What a run produced."""

    run_dir: Path
    failed: list[str] = field(default_factory=list)  # names of failed variants
    timings: dict[str, float] = field(default_factory=dict)
    primary: bool = True  # False on torchrun ranks other than 0, which print nothing


def _context() -> mp.context.BaseContext:
    # A forkserver that has imported torch + diffusers once forks each worker: fresh class
    # state per variant without paying the ~8 s import again, and no CUDA state inherited.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["evalsuite.worker"])
    return ctx


class RunLock:
    """An exclusive lock on the run folder, so two runs never write one store."""

    def __init__(self, run_dir: Path) -> None:
        self.fh = open(run_dir / ".lock", "w")  # noqa: SIM115 - held for the run's lifetime
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise UserError(f"{run_dir}: another evalsuite run is using this folder") from None

    def release(self) -> None:
        """Drop the lock."""
        self.fh.close()


def validate_run(suite: Suite, device: str) -> list[prompt_sets.Prompt]:
    """Everything that can reject the input, checked before the run folder is touched."""
    from evalsuite.accelerators import ACCELERATORS, Environment

    try:
        selected = prompt_sets.resolve_prompts(suite.prompts)
    except prompt_sets.PromptError as exc:
        raise UserError(f"{suite.source}: {exc}") from None
    env = Environment(device, _capability(device))
    for v in suite.variants:
        for a in v.accelerators:
            try:
                ACCELERATORS.get(a.name)().check_environment(dict(a.params), env)
            except ValueError as exc:
                raise UserError(f"{suite.source}: variant.{v.name}.{a.name}: {exc}") from None
    from evalsuite.cp_checks import check_parallel_variants
    from evalsuite.distributed import world_size

    check_parallel_variants(suite, world_size())
    return selected


def _capability(device: str) -> tuple[int, int] | None:
    if not device.startswith("cuda"):
        return None
    import torch

    return tuple(torch.cuda.get_device_capability(device))  # type: ignore[return-value]


def prepare_run(suite: Suite, run_dir: Path, selected: list[prompt_sets.Prompt]) -> Store:
    """Write the resolved suite, prompts and variants into the (locked) run folder."""
    (run_dir / "images").mkdir(exist_ok=True)
    for stale in (run_dir / "images").glob("*/.*.tmp*.png"):  # left by a killed worker
        stale.unlink(missing_ok=True)
    (run_dir / "suite.toml").write_text(tomli_w.dumps(suite.to_dict()), encoding="utf-8")
    store = Store(run_dir / "results.sqlite")
    store.put_prompts((p.id, p.text, p.set, p.index, p.category, dict(p.meta)) for p in selected)
    for v in suite.variants:
        store.put_variant(v.id, v.name, v.describe())
    return store


def generate_all(suite: Suite, run_dir: Path, store: Store, selected: list[prompt_sets.Prompt],
                 device: str, progress: Reporter) -> list[str]:
    """Run a worker per variant for the missing samples; return names of failed variants."""
    ctx = _context()
    failed: list[str] = []
    status = {v["id"]: v["status"] for v in store.variants()}
    for n, variant in enumerate(suite.variants, 1):
        done = store.done_keys(variant.id)
        items = tuple(WorkItem(p.id, p.text, seed) for p in selected for seed in suite.prompts.seeds
                      if (p.id, seed) not in done)
        if not items and status.get(variant.id) == "ok":
            progress(f"[{n}/{len(suite.variants)}] {variant.name}: complete, skipped")
            continue
        progress(f"[{n}/{len(suite.variants)}] {variant.name}: generating {len(items)} images")
        job = WorkerJob(str(run_dir), variant, suite.model, device, items, suite.run.warmup,
                        image_dir(variant.name, variant.id), time.time())
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=run_worker, args=(job, child_end), name=f"evalsuite-{variant.name}")
        proc.start()
        child_end.close()
        progress.start(variant.name, len(items), already_done=len(done))
        finished = _wait(proc, suite.run.timeout_s, progress.update, store, variant.id)
        if not finished:
            proc.kill()
            proc.join()
            store.set_variant_status(variant.id, "failed", f"timed out after {suite.run.timeout_s} s")
        elif proc.exitcode and proc.exitcode < 0:
            sig = signal.Signals(-proc.exitcode).name
            hint = " (out of host memory?)" if sig == "SIGKILL" else ""
            store.set_variant_status(variant.id, "failed", f"worker killed by {sig}{hint}")
        parent_end.close()
        row = next(v for v in store.variants() if v["id"] == variant.id)
        if row["status"] != "ok":
            if row["status"] != "failed":  # died without saying why
                store.set_variant_status(variant.id, "failed", f"worker exited with code {proc.exitcode}")
            failed.append(variant.name)
            progress(f"    failed: {next(v for v in store.variants() if v['id'] == variant.id)['error']}")
    return failed


def _wait(proc: mp.process.BaseProcess, timeout: float | None, tick: Callable[[int], None],
          store: Store, variant_id: str) -> bool:
    """Wait for the worker, reporting its stored samples; False if it outlived ``timeout``."""
    start = time.monotonic()
    while proc.is_alive():
        if timeout is not None and time.monotonic() - start > timeout:
            return False
        proc.join(0.25 if timeout is None else min(0.25, timeout))
        tick(len(store.done_keys(variant_id)))
    return True


def run_suite(suite: Suite, run_dir: Path, progress: Reporter | None = None) -> RunOutcome:
    """Generate, score and report ``suite`` into ``run_dir``, resuming what is there."""
    from evalsuite.pipeline import resolve_device
    from evalsuite.reporting import write_reports
    from evalsuite.scoring import score_run

    progress = progress or Reporter()
    from evalsuite.distributed import run_distributed, world_size

    if world_size() > 1:  # under torchrun: this process is one rank of a sharded sweep
        return run_distributed(suite, run_dir, progress)
    outcome = RunOutcome(run_dir)
    device = resolve_device(suite.model.device)
    selected = validate_run(suite, device)
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"{run_dir}: exists and is not a folder")
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = RunLock(run_dir)
    store = None
    try:
        store = prepare_run(suite, run_dir, selected)
        from evalsuite.shards import merge_shards

        merge_shards(run_dir, store)  # a torchrun launch's unmerged work is resumed, not redone
        write_manifest(run_dir, suite, device)
        t = time.perf_counter()
        outcome.failed = generate_all(suite, run_dir, store, selected, device, progress)
        outcome.timings["generation_s"] = time.perf_counter() - t
        t = time.perf_counter()
        score_run(suite, run_dir, store, device, progress)
        outcome.timings["scoring_s"] = time.perf_counter() - t
        t = time.perf_counter()
        write_reports(suite, run_dir, store)
        outcome.timings["report_s"] = time.perf_counter() - t
    finally:
        if store is not None:
            store.close()
        lock.release()
    (run_dir / "timings.json").write_text(json.dumps(outcome.timings, indent=2))
    return outcome
