"""The drift check: a few baseline images timed again at the end of the sweep, in a fresh worker.

Variants run one after another, so a machine that slows down or speeds up during the sweep
(GPU clocks and heat, neighbours on a shared CPU) would be read as a property of whichever
variant ran then. Timing the first few baseline images again after every other variant, in
a fresh worker with the baseline's settings, measures that drift directly: the report
compares the two timings of the same (prompt, seed) pairs (``reports.speedup.drift_check``)
and flags the run when they disagree beyond their CI.

Like is compared with like: under torchrun each rank timed its own share of the baseline
on its own device, so rank 0 re-times (on its device) only baseline images it timed itself
in this launch (``keys``, taken from the launch's plan). A difference between two GPUs is
then never read as drift; a resumed launch in which rank 0 timed fewer than two baseline
images has no drift check.

The re-timing lives in its own store, ``drift.sqlite``, under the baseline's variant id,
so it never mixes with the sweep's rows; it is replaced whenever a session generated
anything, because then "the end of the sweep" moved.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from evalsuite.progress import Progress
from evalsuite.store.db import Store
from evalsuite.store.drift_db import retimed_rows
from evalsuite.store.paths import DRIFT_IMAGES, DRIFT_STORE, RESULTS
from evalsuite.store.records import SampleRecord
from evalsuite.store.schema import DONE_SAMPLE_STATUSES
from evalsuite.suite.spec import Suite


def drift_rows(suite: Suite, store: Store, n: int,
               keys: Collection[tuple[str, int]] | None = None) -> list[SampleRecord]:
    """The first ``n`` baseline sample rows (in (prompt, seed) order) that have a timing.

    Args:
        suite: the parsed suite (names the baseline).
        store: the run's store.
        n: how many rows at most.
        keys: only rows whose (prompt_id, seed) is one of these (None: every baseline row).
    """
    base = suite.baseline_variant
    rows = sorted((r for r in store.samples([base.id]) if r.status in DONE_SAMPLE_STATUSES
                   and r.latency_s is not None and (keys is None or (r.prompt_id, r.seed) in keys)),
                  key=lambda r: (r.prompt_id, r.seed))
    return rows[:n]


def retime_baseline(suite: Suite, run_dir: Path, device: str, progress: Progress,
                    keys: Collection[tuple[str, int]] | None = None) -> str | None:
    """Time the first ``[run] drift_images`` baseline images again; return why not, or None.

    Args:
        suite: the parsed suite.
        run_dir: the run folder (its ``results.sqlite`` holds the sweep's timings).
        device: where to re-time: the device that timed the candidate images.
        progress: where lines go.
        keys: the (prompt_id, seed) keys that were timed on ``device`` (None: every baseline
            image, as in a single-process run). Under torchrun, rank 0's planned baseline
            items of this launch, so a re-timing is only ever compared with its own device.
    """
    from evalsuite.run.generators import generator_for
    from evalsuite.run.work import WorkerJob, WorkItem

    n = suite.run.drift_images
    if n <= 0:
        return "off ([run] drift_images = 0)"
    base = suite.baseline_variant
    with Store.open_read_only(run_dir / RESULTS) as main:
        rows = drift_rows(suite, main, n, keys)
        last = max((r.created or 0.0 for r in main.samples()), default=0.0)
    done = retimed_rows(run_dir, base.id)
    if done and min(r.created or 0.0 for r in done) > last:
        return None  # nothing was generated since the last check: it still describes this sweep
    # A fresh re-timing for this session's sweep, or none: an older one no longer describes it.
    for suffix in ("", "-wal", "-shm"):
        (run_dir / (DRIFT_STORE + suffix)).unlink(missing_ok=True)
    items = tuple(WorkItem(r.prompt_id, r.text, r.seed) for r in rows)
    if len(items) < 2:
        where = "" if keys is None else " on this device in this launch"
        return f"fewer than two baseline {suite.model.outputs} were timed{where}"
    with Store(run_dir / DRIFT_STORE) as store:
        store.put_prompts((r.prompt_id, r.text, r.set_name or "", 0, r.category or "", {}) for r in rows)
        store.put_variant(base.id, base.name, base.describe())
        progress(f"drift check: timing {len(items)} baseline {suite.model.outputs} again")
        job = WorkerJob.build(str(run_dir), base, suite.model, device, items, suite.run.warmup)
        return generator_for(base).run(job.aside(DRIFT_STORE, DRIFT_IMAGES), store, suite.run.timeout_s,
                                       progress)
