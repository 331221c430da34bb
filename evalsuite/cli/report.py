"""``python -m evalsuite report RUN_DIR``: re-render summary.json and report/index.html."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evalsuite.cli.common import load_run
from evalsuite.errors import EXIT_OK
from evalsuite.store.paths import REPORT_HTML, RESULTS


def add_parser(sub: Any) -> None:
    """Register the ``report`` subcommand on the CLI's subparsers."""
    report = sub.add_parser("report", help="re-render summary.json and report/index.html")
    report.add_argument("run_dir", type=Path)


def cmd_report(args: argparse.Namespace) -> int:
    """Run the report command."""
    from evalsuite.analysis.reporting import write_reports
    from evalsuite.store.db import Store

    suite = load_run(args.run_dir)
    with Store(args.run_dir / RESULTS) as store:
        write_reports(suite, args.run_dir, store)
    print(f"report: {args.run_dir / REPORT_HTML}")
    return EXIT_OK
