"""The trace step of a run: the baseline's decision traces, recorded in a worker of its own.

Kept apart from ``evalsuite.models.tracing`` (which the worker imports) so that module never
imports the generators that start workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evalsuite.models.tracing import trace_request
from evalsuite.progress import Progress
from evalsuite.store.paths import TRACE_STORE
from evalsuite.suite.spec import Suite
from evalsuite.suite.types import Variant
from prompts import Prompt


def trace_baseline(suite: Suite, run_dir: Path, selected: Sequence[Prompt], device: str,
                   progress: Progress, variant: Variant | None = None) -> str | None:
    """Trace the baseline's first ``[run] trace_images`` images not yet traced, in a fresh
    worker of their own (like the drift check); return a note when something went wrong.

    ``variant`` traces another variant of ``suite`` instead (tune's fixed companions).
    """
    from dataclasses import replace

    from evalsuite.run.generators import generator_for
    from evalsuite.run.work import WorkerJob, WorkItem
    from evalsuite.store.db import Store

    base = variant or suite.baseline_variant
    keys = [(p.id, p.text, seed) for p in selected for seed in suite.prompts.seeds]
    pending, fn = trace_request(suite, keys, run_dir, base)
    if not pending:
        return None
    (run_dir / TRACE_STORE).parent.mkdir(exist_ok=True)
    with Store(run_dir / TRACE_STORE) as store:
        store.put_variant(base.id, base.name, base.describe())
        progress(f"traces: tracing {len(pending)} {base.name} {suite.model.outputs} (untimed)")
        job = WorkerJob.build(str(run_dir), base, suite.model, device, (), 0, store_path=TRACE_STORE)
        job = replace(job, telemetry=False, trace_items=tuple(WorkItem(*k) for k in pending), trace_fn=fn)
        return generator_for(base).run(job, store, suite.run.timeout_s, progress)
