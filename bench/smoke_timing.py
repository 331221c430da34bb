"""Where the default run's time goes, cold (tiny model built) and warm (cached model).

Usage: python bench/smoke_timing.py
Targets on a 2-core CPU machine: <= 60 s the first time (model built), <= 30 s again
into a fresh run folder, and the run's own overhead at most 1.2x a fresh interpreter's
``import torch, diffusers``, both measured in this one invocation.

The own overhead is the wall time minus the model's work: the timed generations, warm-ups
and model loads of every variant, and the drift check and trace step (optional model work
the run chose to do; their two worker starts, about 0.1 s each, are dropped with them).
Because a worker cannot start before importing what it runs (torch, diffusers, the FLUX
pipeline and transformers' text encoders), the ratio is also printed against that import,
``import evalsuite.run.worker``, which is the floor of any run that keeps a fresh process per
variant. Prints the breakdown and the machine's load average.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def breakdown(run: Path, total: float) -> dict[str, float]:
    with sqlite3.connect(f"{(run / 'results.sqlite').as_uri()}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT worker_start_s, load_s, cold_s FROM variants").fetchall()
        gen = db.execute("SELECT SUM(latency_s), COUNT(*) FROM samples").fetchone()
    timings = json.loads((run / "timings.json").read_text())
    optional = timings.get("drift_s", 0.0) + timings.get("traces_s", 0.0)
    own = total - (gen[0] or 0.0) - sum(r[1] or 0 for r in rows) - sum(r[2] or 0 for r in rows) - optional
    return {
        "worker start (sum; first includes forkserver imports)": sum(r[0] or 0 for r in rows),
        "first worker start": rows[0][0] or 0.0,
        "model load (sum)": sum(r[1] or 0 for r in rows),
        "warm-up/cold (sum)": sum(r[2] or 0 for r in rows),
        f"generation, {gen[1]} images (sum of latencies)": gen[0] or 0.0,
        "generation phase (wall)": timings["generation_s"],
        "  of which drift check + trace step (model work, excluded)": optional,
        "scoring phase": timings["scoring_s"],
        "report phase": timings["report_s"],
        OWN: own,
    }


OWN = "the run's own overhead (total - all model work)"
IMPORT = [sys.executable, "-c", "import torch, diffusers"]
WORKER_IMPORT = [sys.executable, "-c", "import evalsuite.run.worker"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "EVALSUITE_CACHE": str(Path(tmp) / "cache")}
        print(f"load average (1, 5, 15 min) at start: {os.getloadavg()}")
        imports = [timed(IMPORT, env)]
        worker_imports = [timed(WORKER_IMPORT, env)]
        print(f"import torch, diffusers in a fresh interpreter: {imports[0]:6.2f} s")
        print(f"import evalsuite.run.worker (what the forkserver preloads): {worker_imports[0]:6.2f} s")
        own = 0.0
        for label, run in (("first run (builds the tiny model)", "run1"), ("again, fresh folder", "run2")):
            out = Path(tmp) / run
            total = timed([sys.executable, "-m", "evalsuite", "run", "--out", str(out)], env)
            print(f"\n{label}: {total:6.2f} s total")
            for what, secs in breakdown(out, total).items():
                print(f"  {what:65} {secs:6.2f} s")
                own = secs if what == OWN else own
        # Measured again after the runs: a load change during the runs shows as a spread.
        imports.append(timed(IMPORT, env))
        worker_imports.append(timed(WORKER_IMPORT, env))
        scale = sum(imports) / len(imports)
        floor = sum(worker_imports) / len(worker_imports)
        print(f"\nimport torch, diffusers (fresh interpreter), before/after: "
              f"{imports[0]:.2f} s / {imports[1]:.2f} s")
        print(f"import evalsuite.run.worker (fresh interpreter), before/after: "
              f"{worker_imports[0]:.2f} s / {worker_imports[1]:.2f} s")
        print(f"own overhead of the second run / import torch, diffusers: {own / scale:.2f}x "
              f"(target <= 1.2x)")
        print(f"own overhead of the second run / import evalsuite.run.worker: {own / floor:.2f}x "
              f"(the floor is 1.0x: a worker cannot start before that import)")
        print(f"load average (1, 5, 15 min) at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
