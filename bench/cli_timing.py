"""How instant the light commands are, against one ``python -c "import torch"``.

Usage: python bench/cli_timing.py [--run RUN_DIR] [--repeat N]

Target (issue 12, section 5): ``--help``, ``list ...``, ``recommend``, ``export`` and a suite
validation error each take under 25% of a fresh interpreter's ``import torch``. Without
``--run`` the default suite is run once into a temporary folder first (not timed), so that
``recommend`` and ``export`` have a run to read. Every command and the torch import are
timed in the same run of this script, interleaved, and the median of ``--repeat`` runs is
kept, so a change of machine load hits all of them alike. Prints one line per command with
its ratio, and whether it imported torch, diffusers or transformers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.25
HEAVY = ("torch", "diffusers", "transformers")
# Runs the CLI in-process, then reports which heavy modules it left imported.
PROBE = ("import sys\nfrom evalsuite.cli.main import main\ntry:\n    main(sys.argv[1:])\n"
         "except SystemExit:\n    pass\n"
         f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
BAD_SUITE = 'name = "bad"\n[model]\nid = "tiny"\nsteps = "ten"\n[[variant]]\nname = "baseline"\n'


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall time of one fresh interpreter running ``argv``, and the heavy modules it imported."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    heavy = next((line[6:] for line in proc.stderr.splitlines() if line.startswith("HEAVY=")), "")
    return wall, heavy


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, help="an existing run folder (default: run the smoke suite)")
    ap.add_argument("--repeat", type=int, default=3, help="timings per command (median kept)")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None:
            run = Path(tmp) / "smoke"
            subprocess.run([sys.executable, "-m", "evalsuite", "run", "--out", str(run)],
                           env=env, check=True, capture_output=True)
        bad = Path(tmp) / "bad.toml"
        bad.write_text(BAD_SUITE)
        commands = {
            "--help": ["--help"],
            "list suites": ["list", "suites"],
            "list metrics": ["list", "metrics"],
            "list accelerators": ["list", "accelerators"],
            "list prompt-sets": ["list", "prompt-sets"],
            "recommend RUN": ["recommend", str(run)],
            "export RUN": ["export", str(run), "--out", str(Path(tmp) / "export")],
            "run BAD_SUITE (validation error)": ["run", str(bad), "--out", str(Path(tmp) / "none")],
        }
        torch_s: list[float] = []
        times: dict[str, list[float]] = {name: [] for name in commands}
        heavy: dict[str, str] = {}
        for _ in range(args.repeat):  # interleaved: load changes hit every command alike
            torch_s.append(timed(["-c", "import torch"], env)[0])
            for name, argv in commands.items():
                wall, heavy[name] = timed(["-c", PROBE, *argv], env)
                times[name].append(wall)
    unit = statistics.median(torch_s)
    print(f"python -c 'import torch': {unit:.2f} s (median of {args.repeat}); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    worst = 0.0
    for name, walls in times.items():
        ratio = statistics.median(walls) / unit
        worst = max(worst, ratio)
        verdict = "ok" if ratio < TARGET and not heavy[name] else "OVER"
        print(f"  {name:34} {statistics.median(walls):6.2f} s  {ratio:5.1%} of import torch  "
              f"heavy imports: {heavy[name] or 'none'}  [{verdict}]")
    print(f"worst ratio {worst:.1%} (target < {TARGET:.0%})")
    return 0 if worst < TARGET and not any(heavy.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
