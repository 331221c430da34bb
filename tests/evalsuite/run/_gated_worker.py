"""A real worker that holds after storing N images (or clips) until a file appears: an order,
not a race.

A test that must stop a worker (or kill a run) mid-sweep cannot rely on the worker being
slower than the test's poll: on a quiet machine the tiny worker stores every image before
anyone looks. This target runs the real :func:`run_worker`, except that once it has stored
``hold_after`` images it waits before writing the next one until ``gate`` exists. A test
that kills the worker never creates the gate, so the kill always lands mid-run.

In the process that starts workers (the forkserver imports this module by name to unpickle
the target, so it must stay importable as ``tests.evalsuite.run._gated_worker``)::

    install(gate, hold_after=1)

or, for a CLI run (also one rank of a torchrun launch), set :data:`GATE_ENV` and run
``python -m tests.evalsuite.run._gated_worker ARGS`` instead of ``python -m evalsuite ARGS``.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import hang_guard

# JSON {"gate": PATH, "hold_after": N, "rank": R or null, "spare": [NAME, ...], "per_rank":
# {R: N}}: hold after N stored images until PATH exists (only on torchrun rank R when R is
# given; on a rank named in "per_rank", after that rank's own N instead; never in the
# workers of the variants named in "spare").
GATE_ENV = "EVALSUITE_TEST_GATE"
POLL_S = 0.02


def gate_env(gate: Path, hold_after: int, rank: int | None = None, spare: tuple[str, ...] = (),
             per_rank: dict[int, int] | None = None) -> dict[str, str]:
    """The environment entry that makes :func:`main` hold its workers."""
    return {GATE_ENV: json.dumps({"gate": str(gate), "hold_after": hold_after, "rank": rank,
                                  "spare": list(spare),
                                  "per_rank": {str(r): n for r, n in (per_rank or {}).items()}})}


def wait_for(gate: Path) -> None:
    """Block until ``gate`` exists; give up only at the hang guard (the test then fails)."""
    deadline = time.monotonic() + hang_guard()
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(POLL_S)


def held_by(gate: Path) -> Path:
    """Where a worker held mid-clip writes its pid (beside ``gate``)."""
    return gate.with_name(gate.name + ".held")


def gated_worker_main(gate: str, hold_after: int, spare: tuple[str, ...], job: Any, conn: Any) -> None:
    """A worker process's target: :func:`run_worker`, held before image ``hold_after + 1``
    unless its variant is one of ``spare``."""
    import evalsuite.run.worker as worker

    real, written = worker.write_png_atomically, [0]

    def write(*args: Any, **kwargs: Any) -> Any:
        if written[0] == hold_after and job.variant.name not in spare:
            wait_for(Path(gate))
        written[0] += 1
        return real(*args, **kwargs)

    worker.write_png_atomically = write  # the worker's module global, in this process only
    real_clip, clips = worker.write_clip_atomically, [0]

    def write_clip(frames: Any, fps: int, poster: Any, run_dir: Path, rel: str) -> None:
        # A clip is held between its lossless copy and its MP4: a kill then lands mid-clip.
        if clips[0] == hold_after and job.variant.name not in spare:
            from evalsuite.store.clips import clip_paths, write_npz_atomically

            write_npz_atomically(frames, fps, run_dir / clip_paths(rel)[0])
            held_by(Path(gate)).write_text(str(os.getpid()))  # who to kill, for a test in process
            wait_for(Path(gate))
        clips[0] += 1
        real_clip(frames, fps, poster, run_dir, rel)

    worker.write_clip_atomically = write_clip
    worker.run_worker(job, conn)


def install(gate: Path, hold_after: int, spare: tuple[str, ...] = ()) -> None:
    """Make every worker this process starts from now on hold, except those of the variants
    named in ``spare`` (see the module docstring)."""
    from evalsuite.run import generators

    generators._worker_main = functools.partial(gated_worker_main, str(gate), hold_after, tuple(spare))


def main() -> int:
    """``python -m evalsuite`` with :data:`GATE_ENV` applied."""
    from evalsuite.cli.main import main as cli_main

    held, rank = json.loads(os.environ[GATE_ENV]), os.environ.get("RANK")
    per_rank = held.get("per_rank", {})
    if rank in per_rank:
        install(Path(held["gate"]), per_rank[rank], tuple(held["spare"]))
    elif held["rank"] is None or str(held["rank"]) == rank:
        install(Path(held["gate"]), held["hold_after"], tuple(held["spare"]))
    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    # The worker target must be pickled under this module's importable name, not __main__.
    from tests.evalsuite.run._gated_worker import main as imported_main

    sys.exit(imported_main())
