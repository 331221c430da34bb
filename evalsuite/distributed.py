"""Runs under torchrun: the sweep sharded across ranks, one store shard per rank.

``torchrun --nproc_per_node=N -m evalsuite run SUITE`` starts N copies of the CLI; each is
a rank and runs the usual per-variant workers on its own device for its share of the
work. torch.distributed (gloo, in the rank's runner process only) is the control plane:
rank 0 prepares the run folder, merges what an interrupted launch left, plans who
generates what and broadcasts the plan; ranks meet at barriers between phases; rank 0
merges the shards, then everyone scores a share, then rank 0 merges again and reports.
See docs/DISTRIBUTED.md for the choices and their reasons.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import prompts as prompt_sets
from evalsuite.cp_checks import gpus_per_image
from evalsuite.errors import UserError
from evalsuite.spec import Suite, Variant
from evalsuite.worker import WorkItem

TIMEOUT_ENV = "EVALSUITE_DIST_TIMEOUT_S"


def world_size() -> int:
    """Ranks in this launch (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@dataclass(frozen=True)
class World:
    """This rank's place in the launch, from torchrun's environment."""

    rank: int
    size: int
    local_rank: int
    master_addr: str
    master_port: int
    timeout_s: float  # of barriers and rendezvous: ranks wait there for the slowest one

    @classmethod
    def from_env(cls) -> World:
        """Read RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT."""
        try:
            return cls(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
                       int(os.environ.get("LOCAL_RANK", "0")), os.environ["MASTER_ADDR"],
                       int(os.environ["MASTER_PORT"]), float(os.environ.get(TIMEOUT_ENV, 86400)))
        except (KeyError, ValueError) as exc:
            raise UserError(f"WORLD_SIZE is set but the torchrun environment is incomplete ({exc}); "
                            "start with torchrun") from None

    def device(self, resolved: str) -> str:
        """Each rank generates on its own GPU (cuda:LOCAL_RANK), or on the CPU."""
        return f"cuda:{self.local_rank}" if resolved.startswith("cuda") else resolved


class ControlPlane:
    """A gloo process group in the rank's runner process, never in its workers."""

    def __init__(self, world: World) -> None:
        import torch.distributed as dist

        self.dist, self.world = dist, world
        timeout = datetime.timedelta(seconds=world.timeout_s)
        # torchrun's agent hosts the store at MASTER_ADDR:MASTER_PORT; other launchers leave
        # that to rank 0. Workers of context-parallel groups meet in the same store later.
        host = world.rank == 0 and os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True"
        self.store = dist.TCPStore(world.master_addr, world.master_port,
                                   world.size if host else None, is_master=host, timeout=timeout,
                                   wait_for_workers=False)
        dist.init_process_group("gloo", store=dist.PrefixStore("evalsuite/control", self.store),
                                rank=world.rank, world_size=world.size, timeout=timeout)

    def barrier(self) -> None:
        """Wait for every rank."""
        self.dist.barrier()

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        box = [obj]
        self.dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""
        out: list[Any] = [None] * self.world.size
        self.dist.all_gather_object(out, obj)
        return out

    def close(self) -> None:
        """Leave the process group."""
        if self.dist.is_initialized():
            self.dist.destroy_process_group()


@dataclass(frozen=True)
class VariantPlan:
    """Who generates what of one variant: one share of the pending items per group of K ranks."""

    variant: Variant
    k: int  # ranks per image (context-parallel degree; 1 = data parallel)
    shares: tuple[tuple[WorkItem, ...], ...]  # group g = ranks g*K .. g*K+K-1
    run_empty: bool  # nothing pending but not marked ok: group 0 runs a warm-up-only worker
    done: int  # items stored before this launch

    def group_of(self, rank: int) -> int:
        """The group ``rank`` belongs to for this variant."""
        return rank // self.k

    def items_for(self, rank: int) -> tuple[WorkItem, ...] | None:
        """The rank's items, or None when it starts no worker for this variant."""
        g = self.group_of(rank)
        if self.shares[g] or (self.run_empty and g == 0):
            return self.shares[g]
        return None

    def ranks(self, world_size: int) -> list[int]:
        """Ranks that start a worker."""
        return [r for r in range(world_size) if self.items_for(r) is not None]


@dataclass(frozen=True)
class Plan:
    """The launch's work, computed once by rank 0 from the merged store and broadcast."""

    token: str  # unique per launch: prefixes rendezvous keys in the shared store
    variants: tuple[VariantPlan, ...]  # data-parallel variants first, then context-parallel ones


def make_plan(suite: Suite, done: dict[str, set[tuple[str, int]]], status: dict[str, str],
              selected: list[prompt_sets.Prompt], size: int) -> Plan:
    """Split each variant's pending items round-robin over its groups (deterministic)."""
    plans = []
    for v in sorted(suite.variants, key=lambda v: gpus_per_image(v) > 1):  # stable: suite order
        k = gpus_per_image(v)
        have = done.get(v.id, set())
        pending = [WorkItem(p.id, p.text, s) for p in selected for s in suite.prompts.seeds
                   if (p.id, s) not in have]
        groups = size // k
        shares = tuple(tuple(pending[g::groups]) for g in range(groups))
        plans.append(VariantPlan(v, k, shares, not pending and status.get(v.id) != "ok", len(have)))
    return Plan(uuid.uuid4().hex[:12], tuple(plans))


class RankProgress:
    """Messages tagged with the rank; only rank 0 drives the progress bar."""

    def __init__(self, inner: Any, world: World) -> None:
        self.inner, self.world = inner, world
        bar = getattr(inner, "bar", None)
        if world.rank != 0 and bar is not None:
            # Ranks share the terminal: a second live display would redraw over rank 0's bar.
            bar.stop()
            inner.bar = None

    def __call__(self, message: str) -> None:
        """Print a line tagged with the rank."""
        self.inner(f"[rank {self.world.rank}/{self.world.size}] {message}")

    def start(self, description: str, total: int, already_done: int = 0) -> None:
        """Start rank 0's bar."""
        if self.world.rank == 0:
            self.inner.start(description, total, already_done)

    def update(self, completed: int) -> None:
        """Advance rank 0's bar."""
        if self.world.rank == 0:
            self.inner.update(completed)


def run_distributed(suite: Suite, run_dir: Path, progress: Any) -> Any:
    """The torchrun counterpart of :func:`evalsuite.runner.run_suite`; same outcome type."""
    from evalsuite.dist_phases import generate_share, merge_generation
    from evalsuite.manifest import write_manifest
    from evalsuite.pipeline import resolve_device
    from evalsuite.runner import RunLock, RunOutcome, prepare_run, validate_run
    from evalsuite.shards import merge_shards

    world = World.from_env()
    device = world.device(resolve_device(suite.model.device))
    selected = validate_run(suite, device)  # on every rank: each reads the suite itself
    rp = RankProgress(progress, world)
    outcome = RunOutcome(run_dir)
    outcome.primary = world.rank == 0
    control = ControlPlane(world)
    lock = None
    try:
        hosts = control.gather({"rank": world.rank, "host": socket.gethostname(), "device": device})
        plan: Any = None
        if world.rank == 0:
            try:
                if run_dir.exists() and not run_dir.is_dir():
                    raise UserError(f"{run_dir}: exists and is not a folder")
                run_dir.mkdir(parents=True, exist_ok=True)
                lock = RunLock(run_dir)
                store = prepare_run(suite, run_dir, selected)
                write_manifest(run_dir, suite, device)
                merged = merge_shards(run_dir, store)  # what an interrupted launch left
                if merged.samples or merged.scores:
                    rp(f"recovered {merged.samples} samples and {merged.scores} scores from shards")
                done = {v.id: store.done_keys(v.id) for v in suite.variants}
                status = {v["id"]: v["status"] for v in store.variants()}
                store.close()
                plan = make_plan(suite, done, status, selected, world.size)
                (run_dir / "distributed.json").write_text(json.dumps(
                    {"world_size": world.size, "token": plan.token, "ranks": hosts,
                     "started": time.time()}, indent=2))
            except UserError as exc:
                control.broadcast(UserError(str(exc)))
                raise
        plan = control.broadcast(plan)
        if isinstance(plan, UserError):
            raise plan
        t = time.perf_counter()
        generate_share(suite, run_dir, plan, world, device, rp, control)
        control.barrier()
        if world.rank == 0:
            outcome.failed = merge_generation(run_dir, plan, world.size)
        control.barrier()
        outcome.timings["generation_s"] = time.perf_counter() - t
        outcome.timings.update(score_and_report(suite, run_dir, world, device, rp, control))
        if world.rank == 0:
            (run_dir / "timings.json").write_text(json.dumps(outcome.timings, indent=2))
    finally:
        control.close()
        if lock is not None:
            lock.release()
    return outcome



def score_and_report(suite: Suite, run_dir: Path, world: World, device: str, progress: RankProgress,
                     control: ControlPlane) -> dict[str, float]:
    """Every rank scores its share into its shard; rank 0 merges them and writes the reports."""
    from evalsuite.dist_phases import score_share
    from evalsuite.reporting import write_reports
    from evalsuite.shards import merge_shards
    from evalsuite.store import Store

    t = time.perf_counter()
    score_share(suite, run_dir, world, device, progress)
    control.barrier()
    timings = {"scoring_s": time.perf_counter() - t}
    if world.rank == 0:
        t = time.perf_counter()
        store = Store(run_dir / "results.sqlite")
        try:
            merge_shards(run_dir, store)
            write_reports(suite, run_dir, store)
        finally:
            store.close()
        timings["report_s"] = time.perf_counter() - t
    control.barrier()  # no rank exits (and makes torchrun stop the others) before rank 0 is done
    return timings


def score_distributed(suite: Suite, run_dir: Path, rewrite_suite: bool) -> None:
    """``torchrun -m evalsuite score RUN``: score a finished run's images with every rank."""
    import tomli_w

    from evalsuite.pipeline import resolve_device
    from evalsuite.shards import merge_shards
    from evalsuite.store import Store

    world = World.from_env()
    device = world.device(resolve_device(suite.model.device))
    control = ControlPlane(world)
    try:
        if world.rank == 0:  # an interrupted launch's scores count before shares are dealt
            store = Store(run_dir / "results.sqlite")
            try:
                merge_shards(run_dir, store)
            finally:
                store.close()
        control.barrier()
        score_and_report(suite, run_dir, world, device, RankProgress(_stderr, world), control)
        if world.rank == 0 and rewrite_suite:  # keep the run's suite copy in step with the store
            (run_dir / "suite.toml").write_text(tomli_w.dumps(suite.to_dict()))
    finally:
        control.close()


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)
