"""The run orchestration: prepare the run folder, generate every variant's missing items,
score, report. Running the same suite again into the same folder resumes it.

A single-process run is the world of size 1 of the same orchestration torchrun uses
(:mod:`evalsuite.run.world`, :mod:`evalsuite.run.plan`, :mod:`evalsuite.run.phases`).
:func:`generate_items` is the public entry for generating chosen items of chosen
variants into an existing run folder (what ``evalsuite tune`` does with its probes).
"""

from __future__ import annotations

import fcntl
import json
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import tomli_w

import prompts as prompt_sets
from evalsuite.errors import UserError
from evalsuite.progress import Progress, Reporter
from evalsuite.run.generators import start_worker_server
from evalsuite.run.phases import generate_share, merge_generation, score_and_report
from evalsuite.run.plan import Plan, make_plan, suite_items
from evalsuite.run.work import WorkItem
from evalsuite.run.world import World, connect, rank_progress, resolve_device
from evalsuite.store.db import Store
from evalsuite.store.paths import DISTRIBUTED, IMAGES, LOCK, RESULTS, SUITE, TIMINGS
from evalsuite.store.shards import merge_shards
from evalsuite.suite.spec import Suite
from evalsuite.suite.types import Variant


@dataclass
class RunOutcome:
    """What a run produced."""

    run_dir: Path
    failed: list[str] = field(default_factory=list)  # names of failed variants
    timings: dict[str, float] = field(default_factory=dict)
    primary: bool = True  # False on torchrun ranks other than 0, which print nothing


class RunLock:
    """An exclusive lock on the run folder, so two runs never write one store."""

    def __init__(self, run_dir: Path) -> None:
        self.fh = open(run_dir / LOCK, "w")  # noqa: SIM115 - held for the run's lifetime
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise UserError(f"{run_dir}: another evalsuite run is using this folder") from None

    def release(self) -> None:
        """Drop the lock."""
        self.fh.close()


def validate_run(suite: Suite, device: str, size: int = 1) -> list[prompt_sets.Prompt]:
    """Everything that can reject the input, checked before the run folder is touched."""
    from evalsuite.run.endpoint_variants import check_endpoint_keys

    check_endpoint_keys(suite)  # a missing key names its variable before any other work
    if size > 1 and (eps := [v.name for v in suite.variants if v.endpoint is not None]):
        raise UserError(f"{suite.source}: variant.{eps[0]}: endpoint variants run without torchrun "
                        "(their requests need no local GPUs)")
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
    from evalsuite.models.cp_checks import check_parallel_variants

    check_parallel_variants(suite, size)
    return selected


def _capability(device: str) -> tuple[int, int] | None:
    if not device.startswith("cuda"):
        return None
    import torch

    return tuple(torch.cuda.get_device_capability(device))  # type: ignore[return-value]


class RunFolder:
    """A locked run folder; use as a context manager. Stores are opened per phase.

    Connections are short-lived on purpose: closing the last one checkpoints the WAL, so
    torchrun ranks that read ``results.sqlite`` as an immutable file see every row.
    """

    def __init__(self, run_dir: Path) -> None:
        if run_dir.exists() and not run_dir.is_dir():
            raise UserError(f"{run_dir}: exists and is not a folder")
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir
        self.lock = RunLock(run_dir)

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def open_store(self) -> Store:
        """The run's ``results.sqlite`` (close it, or use it as a context manager)."""
        return Store(self.path / RESULTS)

    def close(self) -> None:
        """Release the lock."""
        self.lock.release()


def prepare_run(suite: Suite, folder: RunFolder, selected: list[prompt_sets.Prompt]) -> None:
    """Write the resolved suite, prompts and variants into the (locked) run folder."""
    images = folder.path / IMAGES
    images.mkdir(exist_ok=True)
    for stale in images.glob("*/.*.tmp*.png"):  # left by a killed worker
        stale.unlink(missing_ok=True)
    (folder.path / SUITE).write_text(tomli_w.dumps(suite.to_dict()), encoding="utf-8")
    with folder.open_store() as store:
        store.put_prompts((p.id, p.text, p.set, p.index, p.category, dict(p.meta)) for p in selected)
        for v in suite.variants:
            store.put_variant(v.id, v.name, v.describe())


def _plan(folder: RunFolder, variants: Sequence[Variant], items: Sequence[WorkItem], size: int) -> Plan:
    """Plan from what the run's store holds (registering new variants first)."""
    with folder.open_store() as store:
        for v in variants:
            store.put_variant(v.id, v.name, v.describe())
        status = {r.id: r.status for r in store.variants()}
        return make_plan(variants, items, {v.id: store.done_keys(v.id) for v in variants}, status, size)


def generate_items(folder: RunFolder, suite: Suite, variants: Sequence[Variant] | None = None,
                   items: Sequence[WorkItem] | None = None, *, device: str | None = None,
                   progress: Progress | None = None) -> list[str]:
    """Generate the missing ``items`` of ``variants`` into a run folder, in this process's world of one.

    Resumable: items already stored are skipped, and a variant with nothing missing that
    is marked ok starts no worker. New variants (e.g. a tuner's probes) are registered.

    Args:
        folder: the open run folder (its prompts must include the items' prompts).
        suite: supplies the model, warm-up count and timeout.
        variants: what to generate (default: the suite's variants).
        items: which (prompt, seed) items (default: every prompt of the suite x its seeds).
        device: where to generate (default: the suite's device, resolved).
        progress: where lines and bars go (default: a fresh Reporter).

    Returns:
        Names of the variants that failed.
    """
    variants = tuple(suite.variants if variants is None else variants)
    if items is None:
        items = suite_items(prompt_sets.resolve_prompts(suite.prompts), suite.prompts.seeds)
    plan = _plan(folder, variants, items, 1)
    world = World.single()
    reasons = generate_share(suite, folder.path, plan, world,
                             device or resolve_device(suite.model.device),
                             progress or Reporter(), connect(world))
    return [vp.variant.name for vp in plan.variants if reasons.get(vp.variant.id)]


def run_suite(suite: Suite, run_dir: Path, progress: Progress | None = None) -> RunOutcome:
    """Generate, score and report ``suite`` into ``run_dir``, resuming what is there.

    Outside torchrun this process is the whole world; under torchrun it is one rank,
    generating and scoring its share while rank 0 prepares, plans, merges and reports.
    """
    from evalsuite.run.manifest import write_manifest

    # First of all: the forkserver's torch + diffusers import then runs beside everything
    # this process does before the first worker (validation, its own imports, the store).
    start_worker_server()
    world = World.from_env()
    progress = rank_progress(progress or Reporter(), world)
    device = world.device(resolve_device(suite.model.device))
    selected = validate_run(suite, device, world.size)  # on every rank: each reads the suite itself
    import evalsuite.analysis.reporting  # noqa: F401 - scoring's and reporting's imports, while it imports
    from metrics import preload_imports

    # On the other core while the forkserver imports torch + diffusers for the workers: the
    # scorers' own imports (torch, torchmetrics ...), done before any worker is timed, so
    # the scoring phase starts at once instead of importing torch a second time, serially.
    preload_imports(m.name for m in suite.metrics)
    outcome = RunOutcome(run_dir, primary=world.rank == 0)
    control = connect(world)
    folder = None
    try:
        hosts = control.gather({"rank": world.rank, "host": socket.gethostname(), "device": device})
        plan = None
        if world.rank == 0:
            try:
                folder = RunFolder(run_dir)
                prepare_run(suite, folder, selected)
                write_manifest(run_dir, suite, device)
                with folder.open_store() as store:  # an interrupted torchrun launch's work
                    merged = merge_shards(run_dir, store)
                if merged.samples or merged.scores:
                    progress(f"recovered {merged.samples} samples and {merged.scores} scores from shards")
                if world.size > 1:
                    plan = _plan(folder, suite.variants, suite_items(selected, suite.prompts.seeds),
                                 world.size)
                    (run_dir / DISTRIBUTED).write_text(json.dumps(
                        {"world_size": world.size, "token": plan.token, "ranks": hosts,
                         "started": time.time()}, indent=2))
            except UserError as exc:
                control.broadcast(UserError(str(exc)))
                raise
        t = time.perf_counter()
        if world.size == 1:
            assert folder is not None
            outcome.failed = generate_items(folder, suite, suite.variants,
                                            suite_items(selected, suite.prompts.seeds),
                                            device=device, progress=progress)
            end_of_sweep(suite, run_dir, selected, device, progress, outcome.timings)
        else:
            plan = control.broadcast(plan)
            if isinstance(plan, UserError):
                raise plan
            generate_share(suite, run_dir, plan, world, device, progress, control)
            control.barrier()
            if world.rank == 0:
                outcome.failed = merge_generation(run_dir, plan, world.size)
                # The others wait at the barrier (its timeout: world.timeout_s, 24 h by default).
                end_of_sweep(suite, run_dir, selected, device, progress, outcome.timings,
                             plan.keys_for(suite.baseline_variant.id, 0))
            control.barrier()
        outcome.timings["generation_s"] = time.perf_counter() - t
        if world.rank == 0:
            from evalsuite.run.endpoint_variants import record_endpoints_in_manifest

            record_endpoints_in_manifest(run_dir, suite)  # what each endpoint accepted, the seed probe
        outcome.timings.update(score_and_report(suite, run_dir, world, device, progress, control))
        if world.rank == 0:
            (run_dir / TIMINGS).write_text(json.dumps(outcome.timings, indent=2))
    finally:
        control.close()
        if folder is not None:
            folder.close()
    return outcome


def end_of_sweep(suite: Suite, run_dir: Path, selected: Sequence[prompt_sets.Prompt], device: str,
                 progress: Progress, timings: dict[str, float],
                 drift_keys: frozenset[tuple[str, int]] | None = None) -> None:
    """The drift check, then the baseline's traces: once per run, after every variant generated.

    Under torchrun rank 0 runs both, on its own device, and the drift check re-times only
    ``drift_keys``: the baseline images rank 0 timed itself (see :mod:`evalsuite.run.drift`).
    Both walls go into ``timings`` (``drift_s``, ``traces_s``; bench/smoke_timing.py reads them).
    """
    from evalsuite.run.drift import retime_baseline
    from evalsuite.run.trace_step import trace_baseline  # caches' decision signals, untimed

    step = time.perf_counter()  # the machine's own drift over the sweep: baseline images timed again
    if (why := retime_baseline(suite, run_dir, device, progress, drift_keys)) is not None:
        progress(f"drift check: {why}")
    timings["drift_s"] = time.perf_counter() - step
    step = time.perf_counter()
    if (why := trace_baseline(suite, run_dir, selected, device, progress)) is not None:
        progress(f"traces: {why}")
    timings["traces_s"] = time.perf_counter() - step


def score_distributed(suite: Suite, run_dir: Path, rewrite_suite: bool) -> None:
    """``torchrun -m evalsuite score RUN``: score a finished run's images with every rank."""
    world = World.from_env()
    device = world.device(resolve_device(suite.model.device))
    control = connect(world)
    try:
        if world.rank == 0:  # an interrupted launch's scores count before shares are dealt
            with Store(run_dir / RESULTS) as store:
                merge_shards(run_dir, store)
        control.barrier()
        score_and_report(suite, run_dir, world, device, rank_progress(_stderr, world), control)
        if world.rank == 0 and rewrite_suite:  # keep the run's suite copy in step with the store
            (run_dir / SUITE).write_text(tomli_w.dumps(suite.to_dict()))
    finally:
        control.close()


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)
