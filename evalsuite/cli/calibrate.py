"""``python -m evalsuite calibrate SUITE``: fit caches' per-model numbers, with their quality.

Exit codes: 0 written (whether or not every fit is trusted: calibration.json and the lines
printed say which), 2 bad input (a cache with nothing to calibrate, too few prompts, a
model the tracer cannot read). docs/CALIBRATE.md has the details.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evalsuite.errors import EXIT_OK

DESCRIPTION = (
    "Traces the suite's baseline (untimed, resumable, sharded under torchrun), fits TeaCache's rescale "
    "polynomial and MagCache's magnitude ratios and measures the threshold -> skip-rate curve of "
    "FBCache, ParaAttention and cache-dit, per model. Judges each fit on held-out prompts (R² with "
    "a bootstrap CI over prompts; predicted against measured skip rate at thresholds placed at "
    "target skip rates; stability as prompts are added) and writes calibration.json plus the same "
    "numbers for evalsuite, diffusers, cache-dit, SGLang Diffusion, vLLM-Omni and TensorRT-LLM "
    "VisualGen into exports/. Settings come from the suite's [calibrate] table; flags override it."
)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def add_parser(sub: Any) -> None:
    """Register the ``calibrate`` subcommand on the CLI's subparsers."""
    p = sub.add_parser("calibrate", description=DESCRIPTION,
                       help="fit caches' per-model numbers (TeaCache, MagCache, threshold curves)")
    p.add_argument("suite", help="suite file or built-in name")
    p.add_argument("--out", type=Path, help="output folder (default: runs/<suite name>-calibrate)")
    p.add_argument("--caches", type=_names, metavar="A,B", help="caches to calibrate (default: [calibrate] "
                   "caches, else teacache,magcache)")
    p.add_argument("--prompts", type=int, metavar="N",
                   help="prompts to trace (default: [calibrate], else 16)")
    p.add_argument("--holdout", type=int, metavar="N",
                   help="of those, held out (default: [calibrate], else 4)")
    p.add_argument("--check-transfer", action="store_true", help="also trace at the [calibrate] transfer "
                   "settings (default: [tune] confirm) and say whether one calibration serves them all")
    p.add_argument("--json", action="store_true", help="print calibration.json's content")


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Run the calibrate command."""
    from evalsuite.models.families.resolve import RESOLVER
    from evalsuite.suite.calibrate_spec import calibrate_dict, parse_calibrate
    from evalsuite.suite.spec import load_suite

    suite = load_suite(args.suite, RESOLVER)  # bad input fails before the heavy imports below
    table = calibrate_dict(suite.calibrate) if suite.calibrate else {}
    flags = {"caches": args.caches, "prompts": args.prompts, "holdout": args.holdout}
    table.update({k: v for k, v in flags.items() if v is not None})
    confirm = suite.tune.confirm if suite.tune else ()
    spec = parse_calibrate(suite.source, table, confirm)
    from evalsuite.progress import Reporter
    from evalsuite.run.calibrate import run_calibrate
    from reports.calibrate_text import summary_lines
    from reports.jsonio import to_json

    out = args.out or Path("runs") / f"{suite.name}-calibrate"
    with Reporter() as progress:
        outcome = run_calibrate(suite, spec, out, progress, args.check_transfer)
    if outcome.calibration is None:  # torchrun ranks other than 0
        return EXIT_OK
    if args.json:
        print(json.dumps(to_json(outcome.calibration, "null"), indent=2))
        return EXIT_OK
    for note in outcome.notes:
        print(f"note: {note}")
    print("\n".join(summary_lines(outcome.calibration)))
    print("wrote: " + ", ".join(str(p) for p in outcome.files))
    if not all(f.trusted for t in outcome.calibration.transformers for f in t.caches):
        print("run and tune refuse a fit too poor to trust unless calibration = { path = ..., force = true }")
    return EXIT_OK



