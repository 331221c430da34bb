"""Worker supervision on its own: a real worker per call, on the tiny pipeline.

The scenarios run in a fresh interpreter, as the CLI would, so that what the
multiprocessing resource tracker prints at shutdown is seen.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.ahead import Ahead, runs_ahead_of
from tests.conftest import REPO, hang_guard

SCRIPT = textwrap.dedent("""
    import json, sys
    from dataclasses import asdict
    from pathlib import Path
    from evalsuite.run.generators import LocalWorker
    from evalsuite.suite.types import ModelSpec, Variant
    from evalsuite.store.db import Store
    from evalsuite.run.work import WorkerJob, WorkItem
    from tests.evalsuite.run._gated_worker import install

    class Progress:
        def __init__(self): self.updates = []
        def __call__(self, message): pass
        def start(self, description, total, already_done=0): self.updates.append(("start", total))
        def update(self, completed): self.updates.append(completed)

    class AfterFirstSample:  # a group member failing once this worker has stored a sample
        def __init__(self, store, vid): self.store, self.vid = store, vid
        def raised(self):
            return "rank 1" if self.store.done_keys(self.vid) else None
        def raise_flag(self): pass

    def supervise(run, abort):
        run.mkdir()
        variant = Variant(name="v", id="v" * 16, accelerators=())
        store = Store(run / "results.sqlite")
        store.put_variant(variant.id, variant.name, {})
        items = tuple(WorkItem(f"p{i}", "a red apple", 0) for i in range(3))
        job = WorkerJob.build(str(run), variant, ModelSpec(steps=2, max_sequence_length=64), "cpu", items, 0)
        progress, group = Progress(), AfterFirstSample(store, variant.id) if abort else None
        reason = LocalWorker().run(job, store, None, progress, group)
        return {"reason": reason, "updates": progress.updates, "row": asdict(store.variant(variant.id))}

    root = Path(sys.argv[1])
    complete = supervise(root / "complete", abort=False)
    # From here on every worker holds after its first stored image until killed (the gate is
    # never opened), so the abort always finds it mid-run: an order, not a race.
    install(root / "never-opened", hold_after=1)
    print(json.dumps({"complete": complete, "abort": supervise(root / "abort", abort=True)}))
""")


@runs_ahead_of("supervised")
def supervise(tmp: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Both scenarios in one fresh interpreter (one torch import); a job started ahead."""
    return subprocess.run([sys.executable, "-c", SCRIPT, str(tmp)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=hang_guard())


@pytest.fixture(scope="module")
def supervised(ahead: Ahead) -> tuple[dict, str]:
    """What each supervisor returned, and everything the process printed on stderr up to
    its exit."""
    proc = ahead(supervise)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1]), proc.stderr


def test_a_finished_worker_ends_its_progress_at_the_total(supervised: tuple[dict, str]) -> None:
    out, stderr = supervised[0]["complete"], supervised[1]
    assert out["reason"] is None and out["row"]["status"] == "ok"
    assert out["updates"][0] == ["start", 3] and out["updates"][-1] == 3
    assert stderr.strip() == ""


def test_a_killed_worker_is_recorded_and_leaks_no_semaphore(supervised: tuple[dict, str]) -> None:
    out, stderr = supervised[0]["abort"], supervised[1]
    assert out["reason"] == "stopped: rank 1 of its group failed"
    assert out["row"]["status"] == "failed" and out["row"]["error"] == out["reason"]
    assert "leaked semaphore" not in stderr and "resource_tracker" not in stderr, stderr
    assert 1 <= out["updates"][-1] < 3
    assert out["updates"][-1] == 1  # held after its first image, so stopped right there


def test_the_forkserver_can_still_be_started_ahead_of_the_first_worker() -> None:
    # start_worker_server relies on this undocumented (but unprefixed) name.
    import multiprocessing.forkserver

    assert callable(multiprocessing.forkserver.ensure_running)
