"""``evalsuite calibrate``'s tracing: the baseline's decision traces, untimed, resumable, sharded.

Each setting (the suite's own, and each ``--check-transfer`` setting) is a variant: the baseline,
or the baseline at other steps or size or with a quantization or compile applied. Its images
are generated again in a worker of its own with the tracer's read-only hooks on
(``evalsuite.models.tracing``), one JSON line per image, fsynced: a run killed at any point
(``kill -9`` included) keeps every finished trace, and the next run traces only the rest.

Each of the family's transformers (Wan 2.2's two experts; one elsewhere) has a file of its own,
``traces/<variant>.<transformer>.rank<r>.jsonl``: under torchrun every rank traces its share of
what no rank has traced yet into files of its own (no two processes append to one file), and
rank 0 reads them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from evalsuite.models.tracing import read_traces
from evalsuite.progress import Progress
from evalsuite.run.generators import generator_for
from evalsuite.run.phases import store_path
from evalsuite.run.work import WorkerJob, WorkItem
from evalsuite.run.world import World
from evalsuite.store.db import Store
from evalsuite.store.paths import TRACES, variant_folder
from evalsuite.suite.spec import Suite
from evalsuite.suite.types import Variant
from reports.traces import ImageTrace


def rank_file(variant: Variant, rank: int, transformer: str = "{transformer}") -> str:
    """The file ``rank`` appends ``variant``'s traces of ``transformer`` to, relative to the folder
    (by default with the name left for the worker to fill in)."""
    return f"{TRACES}/{variant_folder(variant.name, variant.id)}.{transformer}.rank{rank}.jsonl"


def traced(out_dir: Path, variant: Variant) -> dict[str, list[ImageTrace]]:
    """Transformer name -> every trace of ``variant`` any rank wrote for it, each image once."""
    stem = variant_folder(variant.name, variant.id)
    out: dict[str, list[ImageTrace]] = {}
    seen: set[tuple[str, str, int]] = set()
    for path in sorted((out_dir / TRACES).glob(f"{stem}.*.rank*.jsonl")):
        name = path.name[len(stem) + 1:].rsplit(".rank", 1)[0]
        for t in read_traces(path):
            if (name, t.prompt_id, t.seed) not in seen:
                seen.add((name, t.prompt_id, t.seed))
                out.setdefault(name, []).append(t)
    return out


def trace_share(suite: Suite, out_dir: Path, variant: Variant, items: Sequence[WorkItem], world: World,
                device: str, fn_blocks: tuple[int, ...], progress: Progress) -> str | None:
    """Trace this rank's share of ``items`` not traced yet (worker of its own); why it failed, or None."""
    per = traced(out_dir, variant)
    done = set.intersection(*({(t.prompt_id, t.seed) for t in ts} for ts in per.values())) if per else set()
    pending = [i for i in items if i.key not in done]
    mine = tuple(pending[world.rank::world.size])
    if not mine:
        return None
    rel = store_path(world)
    (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
    (out_dir / TRACES).mkdir(exist_ok=True)
    with Store(out_dir / rel) as store:
        store.put_variant(variant.id, variant.name, variant.describe())
        progress(f"{variant.name}: tracing {len(mine)} images (untimed)")
        job = WorkerJob.build(str(out_dir), variant, suite.model, device, (), 0, store_path=rel)
        job = replace(job, telemetry=False, trace_items=mine, trace_fn=fn_blocks,
                      trace_file=rank_file(variant, world.rank), trace_experts=True)
        reason = generator_for(variant).run(job, store, suite.run.timeout_s, progress)
        if reason is None:  # the worker ran, but an image could not be traced: it says why
            reason = "; ".join(store.variant(variant.id).checks) or None
    return reason


def ordered(traces: Sequence[ImageTrace], items: Sequence[WorkItem]) -> list[ImageTrace]:
    """``traces`` of ``items``, in the items' order (the order prompts are split in)."""
    by_key = {(t.prompt_id, t.seed): t for t in traces}
    return [by_key[i.key] for i in items if i.key in by_key]
