"""``python -m evalsuite run [SUITE]``: generate, score and report a suite (resumable)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from evalsuite.cli.recommend import verdict_lines
from evalsuite.errors import EXIT_FAILED_VARIANTS, EXIT_OK
from evalsuite.store.paths import REPORT_HTML, SUMMARY


def add_parser(sub: Any) -> None:
    """Register the ``run`` subcommand on the CLI's subparsers."""
    run = sub.add_parser("run", help="generate, score and report a suite (resumable)")
    run.add_argument("suite", nargs="?", help="suite file or built-in name (default: smoke)")
    run.add_argument("--out", type=Path, help="run folder (default: runs/<suite name>; a model sweep "
                     "puts each model's run in a folder of its own below it)")
    run.add_argument("--dry-run", action="store_true",
                     help="print images to generate, downloads and a time estimate; do nothing")
    run.add_argument("--gpu", help="GPU to estimate for with --dry-run (default: the suite's [hardware] gpu)")


def cmd_run(args: argparse.Namespace) -> int:
    """Run the run command: one suite, or one suite per model of a model sweep."""
    from evalsuite.models.families.resolve import RESOLVER
    from evalsuite.suite.sweep import load_suites

    # Bad input fails here, before the slow imports below: the family of every model, the
    # settings it defaults, LoRAs, and every technique's fit are checked first.
    name, members = load_suites(args.suite, RESOLVER)
    sweep = len(members) > 1 or members[0].key != ""
    for member in members:
        for line in member.refused:
            print(f"left out: {line}", file=sys.stderr)
    if args.dry_run:
        from evalsuite.suite.dry_run import dry_run

        for member in members:
            if sweep:
                print(f"== {member.key}")
            dry_run(member.suite, args.gpu)
        return EXIT_OK
    root = args.out or Path("runs") / name
    codes = []
    for member in members:
        if sweep:
            print(f"== {member.key} ({member.suite.model.family}): {root / member.key}", flush=True)
        codes.append(_run_one(member.suite, root / member.key if sweep else root))
    return max(codes)


def _run_one(suite: Any, run_dir: Path) -> int:
    """Generate, score and report one suite into ``run_dir``; its exit code."""
    from evalsuite.progress import Reporter
    from evalsuite.run.runner import run_suite

    with Reporter() as progress:
        outcome = run_suite(suite, run_dir, progress=progress)
    if not outcome.primary:  # torchrun ranks other than 0: rank 0 reports for the launch
        return EXIT_OK
    print(f"report: {run_dir / REPORT_HTML}")
    print(f"summary: {run_dir / SUMMARY}")
    if outcome.failed:
        print(f"failed variants: {', '.join(outcome.failed)}", file=sys.stderr)
    sys.stderr.flush()  # the verdict is the last line, even where stdout and stderr share a terminal
    print("\n".join(verdict_lines(suite, run_dir)))  # what the user ran it for
    return EXIT_FAILED_VARIANTS if outcome.failed else EXIT_OK
