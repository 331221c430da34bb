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
    run.add_argument("--out", type=Path, help="run folder (default: runs/<suite name>)")
    run.add_argument("--dry-run", action="store_true",
                     help="print images to generate, downloads and a time estimate; do nothing")
    run.add_argument("--gpu", help="GPU to estimate for with --dry-run (default: the suite's [hardware] gpu)")


def cmd_run(args: argparse.Namespace) -> int:
    """Run the run command."""
    from evalsuite.suite.spec import load_suite

    suite = load_suite(args.suite)  # bad input fails here, before the slow imports below
    if args.dry_run:
        from evalsuite.suite.dry_run import dry_run

        dry_run(suite, args.gpu)
        return EXIT_OK
    from evalsuite.progress import Reporter
    from evalsuite.run.runner import run_suite

    run_dir = args.out or Path("runs") / suite.name
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
