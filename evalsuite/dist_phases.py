"""The phases one rank runs under torchrun: its share of generation and of scoring.

Kept apart from :mod:`evalsuite.distributed` (launch, control plane, plan) so each file
reads in one sitting. Workers are the single-process runner's own (same forkserver, same
``run_worker``), pointed at the rank's shard store.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from evalsuite.accelerators.context_parallel import CPGroup
from evalsuite.distributed import ControlPlane, Plan, RankProgress, VariantPlan, World
from evalsuite.runner import _context
from evalsuite.shards import SHARD_DIR, combine_statuses, merge_shards, open_read_only, shard_path
from evalsuite.spec import Suite
from evalsuite.store import Store, image_dir
from evalsuite.worker import WorkerJob, run_worker


def _group(plan: Plan, vp: VariantPlan, world: World) -> CPGroup | None:
    if vp.k == 1:
        return None
    g = vp.group_of(world.rank)
    return CPGroup(world.master_addr, world.master_port, f"evalsuite/{plan.token}/{vp.variant.id}/g{g}",
                   world.rank % vp.k, vp.k, world.timeout_s)


def _abort_key(plan: Plan, vp: VariantPlan, rank: int) -> str:
    return f"evalsuite/{plan.token}/abort/{vp.variant.id}/g{vp.group_of(rank)}"


def run_job(job: WorkerJob, shard: Store, timeout: float | None, progress: RankProgress,
            control: ControlPlane, abort_key: str | None) -> str | None:
    """Run one worker to the end; return why it failed, or None.

    In a context-parallel group a failed member would leave the others blocked in a
    collective, so a failing rank raises a flag in the shared store and the other members'
    runners stop their workers when they see it.
    """
    ctx = _context()
    parent_end, child_end = ctx.Pipe()
    proc = ctx.Process(target=run_worker, args=(job, child_end), name=f"evalsuite-{job.variant.name}")
    proc.start()
    child_end.close()
    vid, reason, start = job.variant.id, None, time.monotonic()
    while proc.is_alive():
        if timeout is not None and time.monotonic() - start > timeout:
            reason = f"timed out after {timeout} s"
        elif abort_key is not None and control.store.check([abort_key]):
            reason = f"stopped: {control.store.get(abort_key).decode()} of its group failed"
        if reason:
            proc.kill()
            break
        proc.join(0.25)
        progress.update(len(shard.done_keys(vid)))
    proc.join()
    parent_end.close()
    if reason is None and proc.exitcode and proc.exitcode < 0:
        sig = signal.Signals(-proc.exitcode).name
        reason = f"worker killed by {sig}" + (" (out of host memory?)" if sig == "SIGKILL" else "")
    row = next(v for v in shard.variants() if v["id"] == vid)
    if reason is None and row["status"] != "ok":
        reason = row["error"] or f"worker exited with code {proc.exitcode}"
    if reason is not None:
        if reason != row["error"]:
            shard.set_variant_status(vid, "failed", reason)
        if abort_key is not None:
            control.store.set(abort_key, f"rank {control.world.rank}")
    return reason


def generate_share(suite: Suite, run_dir: Path, plan: Plan, world: World, device: str,
                   progress: RankProgress, control: ControlPlane) -> None:
    """Generate this rank's items of every variant into its shard."""
    (run_dir / SHARD_DIR).mkdir(exist_ok=True)
    shard = Store(shard_path(run_dir, world.rank))
    try:
        for v in suite.variants:  # the workers update these rows
            shard.put_variant(v.id, v.name, v.describe())
        cp_started = False
        for n, vp in enumerate(plan.variants, 1):
            v, tag = vp.variant, f"[{n}/{len(plan.variants)}] {vp.variant.name}"
            if vp.k > 1 and not cp_started:
                cp_started = True
                control.barrier()  # a CP group's members start together, not on each one's pace
            items = vp.items_for(world.rank)
            if items is None:
                if world.rank == 0 and not any(vp.shares) and not vp.run_empty:
                    progress(f"{tag}: complete, skipped")
                continue
            group = _group(plan, vp, world)
            role = "" if group is None else f" (context parallel: group rank {group.rank} of {vp.k})"
            progress(f"{tag}: generating {len(items)} images{role}")
            job = WorkerJob(str(run_dir), v, suite.model, device, items, suite.run.warmup,
                            image_dir(v.name, v.id), time.time(),
                            store_path=f"{SHARD_DIR}/{shard_path(run_dir, world.rank).name}", group=group)
            progress.start(v.name, len(items))
            reason = run_job(job, shard, suite.run.timeout_s, progress, control,
                             _abort_key(plan, vp, world.rank) if group else None)
            if reason:
                progress(f"    failed: {reason}")
    finally:
        shard.close()  # closing checkpoints the WAL, so rank 0 merges a plain file


def merge_generation(run_dir: Path, plan: Plan, size: int) -> list[str]:
    """Rank 0, after every rank's generation: merge the shards; return failed variant names."""
    store = Store(run_dir / "results.sqlite")
    failed = []
    try:
        merged = merge_shards(run_dir, store)
        for vp in plan.variants:
            ranks = vp.ranks(size)
            if not ranks:
                continue
            st = combine_statuses(ranks, merged.statuses.get(vp.variant.id, []))
            store.set_variant_status(vp.variant.id, st.status, st.error, **st.timings,
                                     checks=json.dumps(st.checks))
            if st.status != "ok":
                failed.append(vp.variant.name)
    finally:
        store.close()
    return failed


def score_share(suite: Suite, run_dir: Path, world: World, device: str,
                progress: RankProgress) -> None:
    """Score this rank's share of the samples (and of the set-level metrics) into its shard."""
    from evalsuite.scoring import score_run
    from evalsuite.shards import ScoringView
    from metrics import SCORERS, Kind

    merged = open_read_only(run_dir / "results.sqlite")
    shard = Store(shard_path(run_dir, world.rank))
    try:
        view: Any = ScoringView(merged, shard, world.rank, world.size)
        per_image = tuple(m for m in suite.metrics if SCORERS.get(m.name).kind != Kind.SET)
        if per_image:
            score_run(replace(suite, metrics=per_image), run_dir, view, device, progress)
        sets = set_metric_variants(suite, world.rank, world.size)
        if sets is not None:
            score_run(sets, run_dir, view, device, progress)
    finally:
        shard.close()
        merged.close()


def set_metric_variants(suite: Suite, rank: int, size: int) -> Suite | None:
    """The suite restricted to set-level metrics and this rank's share of the variants."""
    from metrics import SCORERS, Kind

    metrics = tuple(m for m in suite.metrics if SCORERS.get(m.name).kind == Kind.SET)
    others = [v for v in suite.variants if v.name != suite.baseline]
    owned = tuple(v for i, v in enumerate(others) if i % size == rank)
    if not metrics or not owned:
        return None
    baseline = next(v for v in suite.variants if v.name == suite.baseline)
    return replace(suite, metrics=metrics, variants=(baseline, *owned))
