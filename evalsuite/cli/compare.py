"""``python -m evalsuite compare RUN_DIR ... --out DIR``: one report across run folders."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evalsuite.errors import EXIT_OK


def add_parser(sub: Any) -> None:
    """Register the ``compare`` subcommand on the CLI's subparsers."""
    cmp = sub.add_parser("compare", help="one report across run folders (machines, providers, dates)",
                         description="Pareto fronts of quality against latency, cost and energy "
                         "over every run's variants, and paired deltas against the first run's "
                         "baseline, computed over the (prompt, seed) pairs all runs share. Runs of "
                         "different models, or with no pair in common, are refused (exit 2).")
    cmp.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")
    cmp.add_argument("--out", type=Path, required=True, help="folder for index.html and compare.json")


def cmd_compare(args: argparse.Namespace) -> int:
    """Run the compare command."""
    from evalsuite.analysis.compare import compare_runs

    result = compare_runs(args.run_dirs, args.out)
    print(f"compared over {result['pairing']['shared']}")
    print(f"report: {args.out / 'index.html'}")
    return EXIT_OK
