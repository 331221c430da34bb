"""``python -m evalsuite score RUN_DIR [--metric M ...]``: score a run's images again or with more metrics."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from evalsuite.cli.common import load_run
from evalsuite.errors import EXIT_OK, UserError
from evalsuite.store.paths import REPORT_HTML, RESULTS, SUITE


def add_parser(sub: Any) -> None:
    """Register the ``score`` subcommand on the CLI's subparsers."""
    score = sub.add_parser("score", help="score a run's images again or with more metrics")
    score.add_argument("run_dir", type=Path)
    score.add_argument("--metric", action="append", default=[],
                       help="metric to add (repeatable; default: the suite's own)")


def cmd_score(args: argparse.Namespace) -> int:
    """Run the score command."""
    suite = load_run(args.run_dir)  # bad input fails here, before the slow imports below
    from dataclasses import replace

    from evalsuite.analysis.reporting import write_reports
    from evalsuite.run.world import resolve_device
    from evalsuite.score.scoring import score_run
    from evalsuite.store.db import Store
    from evalsuite.suite.types import MetricUse
    from metrics import SCORERS

    extra = []
    for m in args.metric:
        if m not in SCORERS:
            raise UserError(f"--metric: unknown metric {m!r} (known: {', '.join(SCORERS.names())})")
        if m not in {u.name for u in suite.metrics}:
            extra.append(MetricUse(m))
    suite = replace(suite, metrics=suite.metrics + tuple(extra))
    from evalsuite.run.runner import score_distributed
    from evalsuite.run.world import world_size

    if world_size() > 1:  # under torchrun: each rank scores a share, rank 0 merges and reports
        score_distributed(suite, args.run_dir, rewrite_suite=bool(extra))
        return EXIT_OK
    with Store(args.run_dir / RESULTS) as store:
        stored = score_run(suite, args.run_dir, store, resolve_device(suite.model.device),
                           progress=lambda m: print(m, file=sys.stderr))
        if stored:
            write_reports(suite, args.run_dir, store)
    if extra:  # keep the run's suite copy in step with what the store now holds
        import tomli_w

        (args.run_dir / SUITE).write_text(tomli_w.dumps(suite.to_dict()))
    names = ", ".join(u.name for u in suite.metrics)
    if not stored:
        print(f"nothing to score: every image already has a score for {names} "
              "(add metrics with --metric)")
        return EXIT_OK
    print(f"scored: {stored} values for {names}")
    print(f"report: {args.run_dir / REPORT_HTML}")
    return EXIT_OK
