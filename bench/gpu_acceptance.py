"""Every GPU figure from one command: per-step shapes, a real sweep, scoring throughput.

Run through ``bench/gpu_acceptance.sh`` (which installs the given wheels on a fresh machine).
Prints one markdown table and writes it to ``$OUT/gpu_acceptance.md`` when ``OUT`` is set:

(a) ``bench/flux_shapes.py``: FLUX.1-dev-shaped transformer, ms per step for eager, compile,
    FP8, FP8 + compile and a forced 50% cache, against the FLOP floor;
(b) a real sweep through ``python -m evalsuite run`` on ``random:flux-dev`` (FLUX.1-dev's
    transformer and VAE with random weights, small text encoders) at 1024^2 with few steps:
    baseline, FBCache at two thresholds, FP8 dynamic, FP8 + compile; latency (with the
    speedup's CI), compile time, peak memory, joules per image and steps skipped; and the
    harness overhead: the runner's baseline p50 against the same pipeline called directly
    in a plain loop (target < 5%);
(c) ``bench/scoring_throughput.py`` (scorers at full size, random weights) when present
    (left out of ``--tiny``: its models are full size by design).

``--tiny`` runs the same on the CPU with toy sizes in a couple of minutes (CI runs it, so the
script cannot rot); FP8 dynamic has no CPU kernel, so the tiny sweep uses FP8 weight-only
and says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HEADER = ("part", "case", "latency", "vs reference", "compile s", "peak GiB", "J / image",
          "steps skipped", "note")


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}g}"


def _load_flux_shapes() -> Any:
    spec = importlib.util.spec_from_file_location("flux_shapes", REPO / "bench" / "flux_shapes.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["flux_shapes"] = module  # its dataclasses resolve their module by name
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def part_shapes(tiny: bool) -> tuple[list[tuple[str, ...]], float | None]:
    """(a): rows, and eager ms per step (the model's own step time, for the overhead check)."""
    shapes = _load_flux_shapes()
    rows, eager = [], None
    # On the CPU a cold compile takes most of a minute; the sweep's fp8-compile row covers
    # compilation there, so the tiny run leaves this one out (and says so).
    variants = [v for v in shapes.VARIANTS if not (tiny and v == "compile")]
    if tiny:
        rows.append(("a shapes", "compile", "", "", "", "", "", "", "skipped in --tiny (CPU compile "
                     "is covered by the sweep's fp8-compile row)"))
    # Torch's default compile mode: max-autotune would spend the whole time budget tuning.
    for r in shapes.run(variants, tiny, warmup=2, iters=3 if tiny else 5, mode="default"):
        if r.variant == "eager":
            eager = r.ms_per_step
        rows.append(("a shapes", r.variant, f"{_fmt(r.ms_per_step)} ms/step",
                     f"{_fmt(r.ratio)}x FLOP floor ({_fmt(r.floor_ms)} ms)", "", "", "", "",
                     r.note))
    return rows, eager


def sweep_suite(tiny: bool, images: int, steps: int) -> str:
    """The (b) suite: random FLUX.1-dev at 1024^2 (tiny: toy model at 64^2 on the CPU)."""
    fp8 = "float8wo" if tiny else "float8dq-row"
    size, seq = (64, 64) if tiny else (1024, 512)
    return f"""
name = "gpu-acceptance"
description = "Harness acceptance: random FLUX weights, baseline, FBCache x2, FP8, FP8 + compile"
baseline = "baseline"
[model]
id = "{'random:flux-tiny' if tiny else 'random:flux-dev'}"
dtype = "{'float32' if tiny else 'bfloat16'}"
steps = {steps}
guidance = 3.5
height = {size}
width = {size}
device = "{'cpu' if tiny else 'auto'}"
max_sequence_length = {seq}
[prompts]
sets = ["smoke"]
limit = {images}
seeds = [0]
[hardware]
gpu = "{'cpu-2vcpu' if tiny else 'auto'}"
[run]
warmup = 1
[metrics]
use = ["sharpness"]
[[variant]]
name = "baseline"
[[variant]]
name = "fbcache"
fbcache = {{ threshold = [0.1, 0.3] }}
[[variant]]
name = "fp8"
torchao = {{ scheme = "{fp8}" }}
[[variant]]
name = "fp8-compile"
torchao = {{ scheme = "{fp8}" }}
compile = {{ mode = "default" }}
"""


def direct_p50(tiny: bool, images: int, steps: int) -> float:
    """The baseline pipeline called in a plain loop, no harness: the model's own time per image."""
    import torch

    from evalsuite.models.pipeline import synchronize
    from evalsuite.models.random_flux import build_random_flux

    device = "cpu" if tiny or not torch.cuda.is_available() else "cuda"
    pipe = build_random_flux("random:flux-tiny" if tiny else "random:flux-dev",
                             torch.float32 if tiny else torch.bfloat16, device)
    pipe.set_progress_bar_config(disable=True)
    size, seq = (64, 64) if tiny else (1024, 512)
    times = []
    for i in range(images + 1):  # the first call is the warm-up, as in the worker
        generator = torch.Generator(device="cpu").manual_seed(i)
        synchronize(device)
        start = time.perf_counter()
        pipe(prompt="a photo of a cat", height=size, width=size, num_inference_steps=steps,
             guidance_scale=3.5, generator=generator, output_type="np", max_sequence_length=seq)
        synchronize(device)
        times.append(time.perf_counter() - start)
    del pipe
    return statistics.median(times[1:])


def part_sweep(tiny: bool, images: int, steps: int, work: Path,
               eager_ms: float | None) -> list[tuple[str, ...]]:
    """(b): the sweep through the real CLI, then the harness-overhead check."""
    (work / "suite.toml").write_text(sweep_suite(tiny, images, steps))
    run_dir = work / "run"
    proc = subprocess.run([sys.executable, "-m", "evalsuite", "run", str(work / "suite.toml"),
                           "--out", str(run_dir)], capture_output=True, text=True)
    if proc.returncode not in (0, 3):
        return [("b sweep", "run", "", "", "", "", "", "", f"failed (exit {proc.returncode}): "
                 + (proc.stderr.strip().splitlines() or ["?"])[-1])]
    summary = json.loads((run_dir / "summary.json").read_text())
    rows = []
    base_p50 = None
    for v in summary["variants"]:
        lat = v.get("latency_s") or {}
        sp = v.get("speedup") or {}
        energy = v.get("energy") or {}
        base_p50 = lat.get("p50") if v["is_baseline"] else base_p50
        vs = ("reference" if v["is_baseline"] else
              f"{_fmt(sp.get('estimate'))}x {_ci(sp.get('ci'))} {sp.get('verdict') or ''}".strip())
        note = v.get("error") or energy.get("reason") or ""
        if tiny and v["name"].startswith("fp8"):
            note = (note + "; " if note else "") + "CPU: FP8 weight-only stands in for FP8 dynamic"
        rows.append(("b sweep", v["name"], f"{_fmt(lat.get('p50'))} s/image p50", vs,
                     _fmt(v.get("compile_s")),
                     _fmt((v.get("peak_memory_mb") or 0) / 1024 or None),
                     _fmt(energy.get("j_per_image")),
                     f"{v['steps']['skipped']}/{v['steps']['computed'] + v['steps']['skipped']}",
                     note))
    if summary.get("drift"):
        d = summary["drift"]
        rows.append(("b sweep", "drift check", "", f"end/start {_fmt(d.get('ratio'))}x {_ci(d.get('ci'))}",
                     "", "", "", "", "FLAGGED" if d.get("flagged") else "steady"))
    own = direct_p50(tiny, images, steps)
    if base_p50:
        overhead = base_p50 / own - 1.0
        share = f"; transformer {steps} x {eager_ms:.4g} ms = {steps * eager_ms / 1e3 / own:.0%} of it" \
            if eager_ms else ""
        verdict = "meets" if overhead < 0.05 else "MISSES"
        rows.append(("b sweep", "harness overhead", f"{_fmt(base_p50)} vs {_fmt(own)} s",
                     f"{overhead:+.1%} ({verdict} < 5%)", "", "", "", "",
                     f"runner baseline p50 vs the same pipeline in a plain loop{share}"))
    return rows


def _ci(ci: Sequence[float] | None) -> str:
    return "" if not ci else f"[{ci[0]:.3g}, {ci[1]:.3g}]"


def part_scoring(tiny: bool) -> list[tuple[str, ...]]:
    """(c): ``bench/scoring_throughput.py`` (full-size scorers, random weights), when present."""
    script = REPO / "bench" / "scoring_throughput.py"
    if not script.is_file():
        return [("c scoring", "all scorers", "", "", "", "", "", "",
                 "skipped: bench/scoring_throughput.py is not in this checkout")]
    spec = importlib.util.spec_from_file_location("scoring_throughput", script)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["scoring_throughput"] = module  # its dataclasses resolve their module by name
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    # --tiny: toy towers, so the script runs (and cannot rot) without minutes of CPU time.
    argv = ["--tiny"] if tiny else ["--device", device, "--images", "64", "--batch", "32",
                                    "--dtype", "bfloat16" if device == "cuda" else "float32"]
    try:
        results = module.main(argv)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - one row says why, the table still prints
        return [("c scoring", "all scorers", "", "", "", "", "", "", f"failed: {exc}")]
    return [("c scoring", r.scorer, f"{r.ours:.3g} img/s", f"{r.ratio:.2f}x of a bare forward "
             f"({r.bare:.3g} img/s)", "", "", "", "",
             "toy towers, 4 images (--tiny)" if tiny else "64 images, batch 32, random weights")
            for r in results]


def markdown(rows: Sequence[Sequence[str]], title: str) -> str:
    """One markdown table with a title line."""
    lines = [title, "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> str:
    """Run the three parts; print and return the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="toy sizes on the CPU (the CI check)")
    p.add_argument("--images", type=int, default=None, help="timed images per variant (default 4; tiny 2)")
    p.add_argument("--steps", type=int, default=4, help="denoising steps per image")
    p.add_argument("--out", type=Path, default=Path(os.environ["OUT"]) if os.environ.get("OUT") else None,
                   help="folder for gpu_acceptance.md (default: $OUT)")
    args = p.parse_args(argv)
    images = args.images or (2 if args.tiny else 4)
    start = time.perf_counter()
    import torch

    from evalsuite.hardware.energy import probe
    from evalsuite.run.manifest import device_info

    device = "cpu" if args.tiny or not torch.cuda.is_available() else "cuda"
    hw = device_info(device)
    rows, eager = part_shapes(args.tiny)
    with tempfile.TemporaryDirectory(prefix="gpu-acceptance-") as work:
        rows += part_sweep(args.tiny, images, args.steps, Path(work), eager)
    rows += part_scoring(args.tiny)
    title = (f"GPU acceptance on {hw.get('gpu') or hw.get('cpu')} ({device}; torch {torch.__version__}; "
             f"{'tiny' if args.tiny else 'full size'}; {probe(device)}; "
             f"{time.perf_counter() - start:.0f} s)")
    table = markdown(rows, title)
    print(table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_acceptance.md").write_text(table)
    return table


if __name__ == "__main__":
    main()
