"""Worker supervision on its own: a real worker per call, on the tiny pipeline.

Each scenario runs in a fresh interpreter, as the CLI would, so that what the
multiprocessing resource tracker prints at shutdown is seen.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO, hang_guard

SCRIPT = textwrap.dedent("""
    import json, sys
    from dataclasses import asdict
    from pathlib import Path
    from evalsuite.run.generators import LocalWorker
    from evalsuite.suite.types import ModelSpec, Variant
    from evalsuite.store.db import Store
    from evalsuite.run.work import WorkerJob, WorkItem

    run, mode = Path(sys.argv[1]), sys.argv[2]
    variant = Variant(name="v", id="v" * 16, accelerators=())
    store = Store(run / "results.sqlite")
    store.put_variant(variant.id, variant.name, {})
    items = tuple(WorkItem(f"p{i}", "a red apple", 0) for i in range(3))
    job = WorkerJob.build(str(run), variant, ModelSpec(steps=2, max_sequence_length=64), "cpu", items, 0)
    updates = []

    class Progress:
        def __call__(self, message): pass
        def start(self, description, total, already_done=0): updates.append(("start", total))
        def update(self, completed): updates.append(completed)

    class AfterFirstSample:  # a group member failing once this worker has stored a sample
        def raised(self):
            return "rank 1" if store.done_keys(variant.id) else None
        def raise_flag(self): pass

    abort = AfterFirstSample() if mode == "abort" else None
    reason = LocalWorker().run(job, store, None, Progress(), abort)
    print(json.dumps({"reason": reason, "updates": updates, "row": asdict(store.variant(variant.id))}))
""")


def supervise(tmp_path: Path, mode: str) -> tuple[dict, str]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), mode], cwd=REPO,
                          capture_output=True, text=True, timeout=hang_guard())
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1]), proc.stderr


def test_a_finished_worker_ends_its_progress_at_the_total(tmp_path: Path) -> None:
    out, stderr = supervise(tmp_path, "complete")
    assert out["reason"] is None and out["row"]["status"] == "ok"
    assert out["updates"][0] == ["start", 3] and out["updates"][-1] == 3
    assert stderr.strip() == ""


def test_a_killed_worker_is_recorded_and_leaks_no_semaphore(tmp_path: Path) -> None:
    out, stderr = supervise(tmp_path, "abort")
    assert out["reason"] == "stopped: rank 1 of its group failed"
    assert out["row"]["status"] == "failed" and out["row"]["error"] == out["reason"]
    assert "leaked semaphore" not in stderr and "resource_tracker" not in stderr, stderr
    assert 1 <= out["updates"][-1] < 3


def test_the_forkserver_can_still_be_started_ahead_of_the_first_worker() -> None:
    # start_worker_server relies on this undocumented (but unprefixed) name.
    import multiprocessing.forkserver

    assert callable(multiprocessing.forkserver.ensure_running)
