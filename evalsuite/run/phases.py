"""The phases one rank runs: its share of generation, then of scoring.

A single-process run is the world of size 1: its one rank writes ``results.sqlite``
directly and scores everything. Under torchrun each rank writes its shard, and rank 0
merges the shards between phases. Each variant's share goes to the generator
:func:`evalsuite.run.generators.generator_for` picks, which supervises it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

from evalsuite.accelerators.context_parallel import CPGroup
from evalsuite.models.calibration import variant_wants_calibration
from evalsuite.progress import Progress
from evalsuite.run.generators import generator_for
from evalsuite.run.plan import Plan, VariantPlan, calibration_items
from evalsuite.run.work import WorkerJob
from evalsuite.run.world import Control, World
from evalsuite.store.db import Store
from evalsuite.store.paths import RESULTS, shard_path, shard_store
from evalsuite.store.schema import VariantStatus
from evalsuite.store.shards import combine_statuses, merge_shards
from evalsuite.suite.spec import Suite


def _group(plan: Plan, vp: VariantPlan, world: World) -> CPGroup | None:
    if vp.k == 1:
        return None
    g = vp.group_of(world.rank)
    return CPGroup(world.master_addr, world.master_port, f"evalsuite/{plan.token}/{vp.variant.id}/g{g}",
                   world.rank % vp.k, vp.k, world.timeout_s)


@dataclass(frozen=True)
class GroupAbort:
    """A context-parallel group's abort flag, a key in the launch's shared store."""

    control: Control
    key: str

    def raised(self) -> str | None:
        """Who raised it, or None."""
        if not self.control.store.check([self.key]):
            return None
        return self.control.store.get(self.key).decode()

    def raise_flag(self) -> None:
        """Tell the group that this rank failed."""
        self.control.store.set(self.key, f"rank {self.control.world.rank}")


def _abort(plan: Plan, vp: VariantPlan, control: Control) -> GroupAbort:
    g = vp.group_of(control.world.rank)
    return GroupAbort(control, f"evalsuite/{plan.token}/abort/{vp.variant.id}/g{g}")


def store_path(world: World) -> str:
    """The store this rank's workers write, relative to the run folder."""
    return RESULTS if world.size == 1 else shard_store(world.rank)


def generate_share(suite: Suite, run_dir: Path, plan: Plan, world: World, device: str,
                   progress: Progress, control: Control) -> dict[str, str | None]:
    """Generate this rank's items of every planned variant.

    Returns:
        For each variant this rank started work for, by id: why it failed, or None.
    """
    rel = store_path(world)
    (run_dir / rel).parent.mkdir(exist_ok=True)
    outcome: dict[str, str | None] = {}
    # Leaving the block closes the store, which checkpoints the WAL: rank 0 merges a plain file.
    with Store(run_dir / rel) as store:
        for vp in plan.variants:  # the generators update these rows
            store.put_variant(vp.variant.id, vp.variant.name, vp.variant.describe())
        cp_started = False
        for n, vp in enumerate(plan.variants, 1):
            v, tag = vp.variant, f"[{n}/{len(plan.variants)}] {vp.variant.name}"
            if vp.k > 1 and not cp_started:
                cp_started = True
                control.barrier()  # a CP group's members start together, not on each one's pace
            items = vp.items_for(world.rank)
            if items is None:
                if world.rank == 0 and vp.complete:
                    progress(f"{tag}: complete, skipped")
                continue
            group = _group(plan, vp, world)
            role = "" if group is None else f" (context parallel: group rank {group.rank} of {vp.k})"
            progress(f"{tag}: generating {len(items)} {suite.model.outputs}{role}")
            job = WorkerJob.build(str(run_dir), v, suite.model, device, items, suite.run.warmup,
                                  store_path=rel, group=group)
            if variant_wants_calibration(v.accelerators):
                job = replace(job, calibration_items=calibration_items(suite))
            reason = generator_for(v).run(job, store, suite.run.timeout_s, progress,
                                          _abort(plan, vp, control) if group else None)
            outcome[v.id] = reason
            if reason:
                progress(f"    failed: {reason}")
    return outcome


def merge_generation(run_dir: Path, plan: Plan, size: int) -> list[str]:
    """Rank 0, after every rank's generation: merge the shards; return failed variant names."""
    failed = []
    with Store(run_dir / RESULTS) as store:
        merged = merge_shards(run_dir, store)
        for vp in plan.variants:
            ranks = vp.ranks(size)
            if not ranks:
                continue
            st = combine_statuses(ranks, merged.statuses.get(vp.variant.id, []))
            store.set_variant_status(vp.variant.id, st.status, st.error, **st.timings,
                                     checks=json.dumps(st.checks))
            if st.status != VariantStatus.OK:
                failed.append(vp.variant.name)
    return failed


def score_share(suite: Suite, run_dir: Path, world: World, device: str, progress: Progress) -> None:
    """Score this rank's share of the samples (and of the set-level metrics).

    One rank scores everything straight into ``results.sqlite``; under torchrun each
    rank writes its shard, for rank 0 to merge.
    """
    from evalsuite.score.scoring import score_run
    from evalsuite.store.shards import ScoringView
    from metrics import SCORERS, Kind

    if world.size == 1:
        with Store(run_dir / RESULTS) as store:
            score_run(suite, run_dir, store, device, progress)
        return
    with Store.open_read_only(run_dir / RESULTS) as merged, Store(shard_path(run_dir, world.rank)) as shard:
        view = ScoringView(merged, shard, world.rank, world.size)
        per_image = tuple(m for m in suite.metrics if SCORERS.get(m.name).kind != Kind.SET)
        if per_image:
            score_run(replace(suite, metrics=per_image), run_dir, view, device, progress)
        sets = set_metric_variants(suite, world.rank, world.size)
        if sets is not None:
            score_run(sets, run_dir, view, device, progress)


def set_metric_variants(suite: Suite, rank: int, size: int) -> Suite | None:
    """The suite restricted to set-level metrics and this rank's share of the variants."""
    from metrics import SCORERS, Kind

    metrics = tuple(m for m in suite.metrics if SCORERS.get(m.name).kind == Kind.SET)
    others = [v for v in suite.variants if v.name != suite.baseline]
    owned = tuple(v for i, v in enumerate(others) if i % size == rank)
    if not metrics or not owned:
        return None
    baseline = suite.baseline_variant
    return replace(suite, metrics=metrics, variants=(baseline, *owned))


def score_and_report(suite: Suite, run_dir: Path, world: World, device: str, progress: Progress,
                     control: Control) -> dict[str, float]:
    """Every rank scores its share; rank 0 merges the shards and writes the reports."""
    from evalsuite.analysis.reporting import write_reports

    t = time.perf_counter()
    score_share(suite, run_dir, world, device, progress)
    control.barrier()
    timings = {"scoring_s": time.perf_counter() - t}
    if world.rank == 0:
        t = time.perf_counter()
        with Store(run_dir / RESULTS) as store:
            merge_shards(run_dir, store)
            write_reports(suite, run_dir, store)
        timings["report_s"] = time.perf_counter() - t
    control.barrier()  # no rank exits (and makes torchrun stop the others) before rank 0 is done
    return timings
