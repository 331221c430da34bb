"""Benchmark: ``evalsuite tune`` against an exhaustive grid, on the tiny model (CPU, offline).

    python bench/tune_vs_grid.py                       # tune-smoke, PSNR >= 59, 55, 52 dB
    python bench/tune_vs_grid.py --budgets 57 53 --out /tmp/tvg
    python bench/tune_vs_grid.py --seeds 5 --budgets 52.14 55 57 59   # an unseen seed

For each budget it runs a tune in a fresh folder (the real CLI path: isolated workers,
stored probes, holdout confirmation) and times it; it runs the grid once, in a fresh folder
(every grid value on every search prompt), times it, and judges every budget from it at the
same CI bound as the tune's last look. It prints per budget: images and wall time of each,
the ratio, and whether the answers agree within one grid step; ``traced`` is the untimed
generations of the tune's warm-start trace and ``trial`` the speed trial's re-timings (baseline
and winner in turns), both of which ``images_generated`` leaves out. The goal: the grid's answer
for at most 30% of its images. Exit 1 when an answer disagrees. Record `uptime` beside the
figures: the tiny model's speed on a shared machine swings with its load.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import time
from pathlib import Path

from evalsuite.progress import Reporter
from evalsuite.suite.spec import Suite, load_suite
from evalsuite.tune.grid import run_grid
from evalsuite.tune.tuner import run_tune
from reports.records import Budget


def with_budget(suite: Suite, psnr_min: float, seeds: list[int] | None = None, **tune: int) -> Suite:
    """``suite`` with one PSNR budget (and any other [tune] values) in its [tune] table, and
    other seeds when given."""
    assert suite.tune is not None
    if seeds:
        suite = dataclasses.replace(suite, prompts=dataclasses.replace(suite.prompts, seeds=tuple(seeds)))
    return dataclasses.replace(suite, tune=dataclasses.replace(
        suite.tune, budgets=(Budget("psnr", "min", psnr_min),), **tune))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="tune-smoke")
    ap.add_argument("--budgets", type=float, nargs="+", default=[59.0, 55.0, 52.0],
                    help="PSNR minima in dB (default: 59 55 52)")
    ap.add_argument("--out", type=Path, default=Path("runs/bench-tune-vs-grid"))
    ap.add_argument("--seeds", type=int, nargs="+", help="the suite's seeds instead of its own")
    for key in ("first_prompts", "max_prompts", "holdout"):
        ap.add_argument(f"--{key.replace('_', '-')}", type=int, help=f"override [tune] {key}")
    args = ap.parse_args()
    overrides = {k: getattr(args, k) for k in ("first_prompts", "max_prompts", "holdout")
                 if getattr(args, k) is not None}
    if args.out.exists():
        shutil.rmtree(args.out)
    base = load_suite(args.suite)
    quiet = Reporter()
    print(f"uptime before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")

    header = ("psnr>=  tune   grid   agree  tune_img grid_img  ratio  tune_s  grid_s  certified probes"
              "  traced  trial  speedup (95% CI)  load")
    t = time.perf_counter()
    grid = run_grid(with_budget(base, args.budgets[0], args.seeds, **overrides), args.out / "grid", quiet)
    grid_s = time.perf_counter() - t
    rows, ok = [], True
    for b in args.budgets:
        suite = with_budget(base, b, args.seeds, **overrides)
        judged = run_grid(suite, args.out / "grid", quiet)  # same images: judged again, nothing new
        t = time.perf_counter()
        result = run_tune(suite, args.out / f"tune-{b:g}", quiet)
        tune_s = time.perf_counter() - t
        found = result.winner.index if result.winner else None
        agree = (found is None and judged.answer is None) or (
            found is not None and judged.answer is not None and abs(found - judged.answer) <= 1)
        ok &= agree
        rows.append((b, result.winner.value if result.winner else None,
                     None if judged.answer is None else judged.values[judged.answer], agree,
                     result.images_generated, grid.images, tune_s, grid_s, result.certified,
                     len(result.probes), result.traced_images, result.speed))
        print(header if len(rows) == 1 else "", _row(rows[-1]), sep="\n" if len(rows) == 1 else "",
              flush=True)
    print(f"uptime after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"cpus: {os.cpu_count()}; grid: {len(grid.values)} points x {grid.images // (len(grid.values) + 1)}"
          f" search images; CI level of the bound {grid.level:.4f}")
    print(header, *(_row(r) for r in rows), sep="\n")
    return 0 if ok else 1


def _row(r: tuple) -> str:
    b, tv, gv, agree, ti, gi, ts, gs, cert, n, traced, speed = r
    trial = speed.trial if speed else None
    entry = speed.speed if speed else None
    shown = (f"{entry.estimate:.2f} ({entry.ci[0]:.2f}-{entry.ci[1]:.2f})" if entry and entry.ci else "n/a")
    load = f"{trial.load_before[0]:.1f}->{trial.load_after[0]:.1f}" if trial else ""
    return (f"{b:6g}  {tv!s:5}  {gv!s:5}  {agree!s:5}  {ti:8d} {gi:8d}  {ti / gi:5.0%}  {ts:6.0f}  "
            f"{gs:6.0f}  {cert!s:9} {n:6d}  {traced:6d}  {2 * len(trial.pairs) if trial else 0:5d}  "
            f"{shown:16}  {load}")


if __name__ == "__main__":
    raise SystemExit(main())
