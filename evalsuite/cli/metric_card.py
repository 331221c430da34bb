"""``python -m evalsuite metric-card RUN_DIR``: which metrics see blur, JPEG, noise, resampling, colour
(a video run: frame drops, temporal blur, flicker, per-frame JPEG)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evalsuite.cli.common import load_run
from evalsuite.errors import EXIT_OK, UserError
from evalsuite.store.paths import RESULTS


def add_parser(sub: Any) -> None:
    """Register the ``metric-card`` subcommand on the CLI's subparsers."""
    card = sub.add_parser("metric-card", help="which metrics see blur, JPEG, noise, resampling, colour "
                          "(video: frame drops, temporal blur, flicker, per-frame JPEG)",
                          description="Degrades the baseline's images (blur x3, JPEG x3, noise, "
                          "down-up scaling, colour shift; a video run's clips: frame drops x3, "
                          "temporal blur x3, flicker x3, per-frame JPEG x3), scores them with the "
                          "run's metrics and reports each response in units of the metric's "
                          "seed-noise floor; writes RUN_DIR/metric_card.json and re-renders the "
                          "report. Pixel- and frame-level proxies, not cache artifacts.")
    card.add_argument("run_dir", type=Path)
    card.add_argument("--limit", type=int, default=50,
                      help="baseline images (or clips) to degrade (default 50)")
    card.add_argument("--json", action="store_true", help="print JSON")


def cmd_metric_card(args: argparse.Namespace) -> int:
    """Run the metric-card command."""
    from evalsuite.analysis.reporting import write_reports
    from evalsuite.run.world import resolve_device
    from evalsuite.score.metric_card import build_card, format_card, write_card
    from evalsuite.store.db import Store

    if args.limit < 1:
        raise UserError("--limit: expected a positive integer")
    suite = load_run(args.run_dir)
    with Store(args.run_dir / RESULTS) as store:
        try:
            card = build_card(suite, args.run_dir, store, resolve_device(suite.model.device), args.limit,
                              progress=lambda m: print(m, file=sys.stderr))
        except ValueError as exc:
            raise UserError(str(exc)) from None
        write_card(args.run_dir, card)
        write_reports(suite, args.run_dir, store)
    print(json.dumps(card, indent=2) if args.json else format_card(card))
    return EXIT_OK
