"""GPU benchmark of context parallelism: latency, GPU-seconds and agreement with one GPU.

Not run in CI (it needs GPUs and the gated FLUX.1-dev). On one node with N GPUs:

    python bench/context_parallel.py --gpus 4                # launch, then check
    python bench/context_parallel.py --check-only runs/cp    # check a finished run

It launches ``torchrun --nproc_per_node=N -m evalsuite run bench/context_parallel.toml``
(the real code path: sharded one-GPU baseline, then each context-parallel variant on
groups of K ranks), then prints per variant: GPUs per image, latency p50, speed-up,
GPU-seconds and cost per image, and how far its images are from the baseline's (PSNR,
largest pixel difference). It exits 1 when a variant failed or its images drift from the
baseline's by more than ``--min-psnr`` dB: bf16 attention over split sequences reorders
sums, so images are close, not identical. On CPU only Ulysses can run (see
docs/DISTRIBUTED.md); this is where ring attention is covered.
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent


def launch(gpus: int, suite: Path, out: Path) -> int:
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={gpus}", "--standalone",
           "-m", "evalsuite", "run", str(suite), "--out", str(out)]
    print(" ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=HERE.parent).returncode


def pixel_drift(run: Path) -> dict[str, float]:
    """Largest absolute 8-bit difference from the baseline's image, per variant name."""
    with sqlite3.connect(run / "results.sqlite") as db:
        rows = db.execute("SELECT v.name, s.prompt_id, s.seed, s.image FROM samples s "
                          "JOIN variants v ON v.id = s.variant_id WHERE s.status = 'ok'").fetchall()
    base = {(p, s): img for name, p, s, img in rows if name == "baseline"}
    drift: dict[str, float] = {}
    for name, p, s, img in rows:
        if name == "baseline" or (p, s) not in base:
            continue
        a = np.asarray(Image.open(run / img), dtype=np.int16)
        b = np.asarray(Image.open(run / base[(p, s)]), dtype=np.int16)
        drift[name] = max(drift.get(name, 0.0), float(np.abs(a - b).max()))
    return drift


def check(run: Path, min_psnr: float) -> int:
    summary = json.loads((run / "summary.json").read_text())
    drift = pixel_drift(run)
    base = next(v for v in summary["variants"] if v["is_baseline"])
    bad = 0
    print(f"\n{'variant':14} {'GPUs':>4} {'p50 s':>8} {'speed-up':>8} {'GPU-s/img':>9} "
          f"{'$/1000':>8} {'PSNR dB':>8} {'max diff':>8}")
    for v in summary["variants"]:
        lat = v["latency_s"]
        psnr = v["metrics"].get("psnr", {}).get("mean")
        psnr = float(psnr) if psnr is not None else math.nan  # summary.json writes +inf as "inf"
        if v["status"] != "ok" or lat is None:
            print(f"{v['name']:14} failed: {v['error']}")
            bad += 1
            continue
        speedup = base["latency_s"]["p50"] / lat["p50"] if base["latency_s"] else math.nan
        cost = (v["cost_per_image_usd"] or math.nan) * 1000
        print(f"{v['name']:14} {v['gpus_per_image']:>4} {lat['p50']:8.3f} {speedup:7.2f}x "
              f"{lat['p50'] * v['gpus_per_image']:9.3f} {cost:8.3f} "
              f"{'ref' if v['is_baseline'] else f'{psnr:8.2f}':>8} {drift.get(v['name'], 0):8.0f}")
        if not v["is_baseline"] and not psnr >= min_psnr:
            print(f"  {v['name']}: images drift from the baseline's (PSNR {psnr:.2f} < {min_psnr} dB)")
            bad += 1
    return 1 if bad else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpus", type=int, default=4, help="ranks on this node (default 4)")
    p.add_argument("--suite", type=Path, default=HERE / "context_parallel.toml")
    p.add_argument("--out", type=Path, default=Path("runs/cp-bench"))
    p.add_argument("--check-only", type=Path, metavar="RUN", help="only check a finished run folder")
    p.add_argument("--min-psnr", type=float, default=30.0,
                   help="smallest mean PSNR against the baseline accepted (default 30 dB)")
    args = p.parse_args()
    run = args.check_only or args.out
    if args.check_only is None and launch(args.gpus, args.suite, args.out) not in (0, 1):
        return 1  # torchrun exits 1 when rank 0 reports failed variants (its code 3); checked below
    return check(run, args.min_psnr)


if __name__ == "__main__":
    sys.exit(main())
