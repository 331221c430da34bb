"""Where the default run's time goes, cold (tiny model built) and warm (cached model).

Usage: python bench/smoke_timing.py
Targets on a 2-core CPU machine: <= 60 s the first time (model built), <= 30 s again
into a fresh run folder. Prints the breakdown: imports, worker start, model load,
generation, scoring and report.
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


def breakdown(run: Path) -> dict[str, float]:
    with sqlite3.connect(run / "results.sqlite") as db:
        rows = db.execute("SELECT worker_start_s, load_s, cold_s FROM variants").fetchall()
        gen = db.execute("SELECT SUM(latency_s), COUNT(*) FROM samples").fetchone()
    timings = json.loads((run / "timings.json").read_text())
    return {
        "worker start (sum; first includes forkserver imports)": sum(r[0] or 0 for r in rows),
        "first worker start": rows[0][0] or 0.0,
        "model load (sum)": sum(r[1] or 0 for r in rows),
        "warm-up/cold (sum)": sum(r[2] or 0 for r in rows),
        f"generation, {gen[1]} images (sum of latencies)": gen[0] or 0.0,
        "generation phase (wall)": timings["generation_s"],
        "scoring phase": timings["scoring_s"],
        "report phase": timings["report_s"],
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "EVALSUITE_CACHE": str(Path(tmp) / "cache")}
        imports = timed([sys.executable, "-c", "import torch, diffusers, transformers"], env)
        print(f"import torch+diffusers+transformers in a fresh interpreter: {imports:6.2f} s")
        for label, run in (("first run (builds the tiny model)", "run1"), ("again, fresh folder", "run2")):
            out = Path(tmp) / run
            total = timed([sys.executable, "-m", "evalsuite", "run", "--out", str(out)], env)
            print(f"\n{label}: {total:6.2f} s total")
            for what, secs in breakdown(out).items():
                print(f"  {what:55} {secs:6.2f} s")


if __name__ == "__main__":
    main()
