"""``python -m evalsuite export RUN_DIR``: per-sample and per-variant tables (CSV, Parquet, JSON)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evalsuite.cli.common import load_run
from evalsuite.errors import EXIT_OK
from evalsuite.store.paths import EXPORT, RESULTS


def add_parser(sub: Any) -> None:
    """Register the ``export`` subcommand on the CLI's subparsers."""
    exp = sub.add_parser("export", help="write per-sample and per-variant tables",
                         description="Writes samples.FORMAT (one row per image: prompt, seed, "
                         "latency, steps, every metric and its failure reason) and variants.FORMAT "
                         "(one row per variant: latency, cost, per metric mean, CI, delta, verdict).")
    exp.add_argument("run_dir", type=Path)
    exp.add_argument("--format", choices=("csv", "parquet", "json"), default="csv")
    exp.add_argument("--out", type=Path, help="output folder (default: RUN_DIR/export)")


def cmd_export(args: argparse.Namespace) -> int:
    """Run the export command."""
    from evalsuite.analysis.reporting import export_run
    from evalsuite.store.db import Store

    suite = load_run(args.run_dir)
    with Store(args.run_dir / RESULTS) as store:
        paths = export_run(suite, args.run_dir, store, args.format, args.out or args.run_dir / EXPORT)
    for path in paths:
        print(path)
    return EXIT_OK
