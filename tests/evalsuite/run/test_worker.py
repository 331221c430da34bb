"""The worker on its own: atomic PNGs, failure reasons, and a failure under a memory cap."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from evalsuite.run.worker import _record_failure, failure_reason
from evalsuite.store.atomic import write_png_atomically
from evalsuite.store.db import Store
from evalsuite.store.schema import VariantStatus
from tests.ahead import Ahead, runs_ahead
from tests.conftest import REPO, hang_guard

# A worker whose model load fills the address space under RLIMIT_AS, in small pieces, and
# keeps it filled: the failure handler starts with no headroom at all.
MEMORY_CAP = textwrap.dedent("""
    import multiprocessing as mp, resource, sys
    from pathlib import Path
    from evalsuite.run import worker as worker
    from evalsuite.suite.types import ModelSpec, Variant
    from evalsuite.store.db import Store
    from evalsuite.run.work import WorkerJob, WorkItem

    run = Path(sys.argv[1])
    variant = Variant(name="v", id="v" * 16, accelerators=())
    Store(run / "results.sqlite").put_variant(variant.id, variant.name, {})
    held = []

    def greedy_load(model, device):
        with open("/proc/self/status") as fh:
            size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize"))
        resource.setrlimit(resource.RLIMIT_AS, (size + (64 << 20), resource.RLIM_INFINITY))
        for chunk in (1 << 20, 1 << 16, 1 << 10, 64):
            try:
                while True:
                    held.append(bytearray(chunk))
            except MemoryError:
                pass
        raise MemoryError()

    worker.load_pipeline = greedy_load
    keep, conn = mp.Pipe()
    job = WorkerJob.build(str(run), variant, ModelSpec(), "cpu", (WorkItem("p", "x", 0),), 0)
    worker.run_worker(job, conn)
""")


def test_png_write_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    write_png_atomically(Image.new("RGB", (4, 4), (255, 0, 0)), target)
    write_png_atomically(Image.new("RGB", (4, 4), (0, 255, 0)), target)
    with Image.open(target) as im:
        assert im.getpixel((0, 0)) == (0, 255, 0)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_failure_reason_is_one_line_and_names_an_empty_memory_error() -> None:
    assert failure_reason(ValueError("bad\nsecond line")) == "ValueError: bad"
    assert failure_reason(MemoryError()) == "MemoryError: out of memory"
    assert failure_reason(KeyboardInterrupt()) == "KeyboardInterrupt"
    assert len(failure_reason(RuntimeError("x" * 2000))) == 500


def test_record_failure_marks_the_variant_and_drops_the_traceback(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.put_variant("v", "v", {})
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        _record_failure(store, "v", exc)
        assert exc.__traceback__ is None
    row = store.variant("v")
    assert row.status == VariantStatus.FAILED and row.error == "RuntimeError: boom"


def greedy_worker(tmp: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, Path]:
    """:data:`MEMORY_CAP` in a fresh interpreter, storing into ``tmp`` (a job started ahead)."""
    proc = subprocess.run([sys.executable, "-c", MEMORY_CAP, str(tmp)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=hang_guard())
    return proc, tmp


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and /proc are Linux's")
@runs_ahead(greedy_worker)
def test_memory_cap_with_no_headroom_records_the_reason_in_one_line(ahead: Ahead) -> None:
    proc, run = ahead(greedy_worker)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) <= 1, proc.stderr
    with Store(run / "results.sqlite") as store:
        row = store.variant("v" * 16)
    assert row.status == VariantStatus.FAILED and row.error == "MemoryError: out of memory"
