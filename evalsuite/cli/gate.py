"""``python -m evalsuite gate RUN --reference REF_RUN``: fail CI when a cache got worse.

Exit codes (CI reads them): 0 every check passed, 1 a regression, 2 bad input (a missing
summary, a reference from another protocol, a bad flag). docs/GATE.md says how to pin a
reference run and refresh it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evalsuite.errors import EXIT_OK, UserError

# A regression is CI's ordinary "failed"; 1 is also an internal error's code elsewhere, but a
# gate that crashes prints a traceback-free "error:" line, and CI fails either way.
EXIT_REGRESSION = 1

DESCRIPTION = (
    "Compares RUN's summary.json with the reference's, variants matched by identity (variant "
    "id; else by name, noted). Per metric, a regression is the run's optimistic 95% CI bound "
    "worse than the reference's mean by more than --max-drop; the speedup's optimistic CI bound "
    "below the reference's estimate by more than --speedup-tolerance; a cache's skip rate moved "
    "by more than --skip-tolerance; a failed or missing variant; an implementation outlier. "
    "Budgets come from the run suite's [gate] table; flags override it. Exit 0 pass, 1 "
    "regression, 2 bad input."
)


def _drop(text: str) -> tuple[str, float]:
    metric, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not sep or not metric or number < 0:
        raise argparse.ArgumentTypeError(f"expected METRIC=LOSS with LOSS >= 0, got {text!r}")
    return metric, number


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def add_parser(sub: Any) -> None:
    """Register the ``gate`` subcommand on the CLI's subparsers."""
    p = sub.add_parser("gate", help="regression gate: a run against a pinned reference run",
                       description=DESCRIPTION)
    p.add_argument("run_dir", type=Path, metavar="RUN")
    p.add_argument("--reference", type=Path, required=True, metavar="REF_RUN",
                   help="the pinned reference: a run folder, or its suite.toml and summary.json")
    p.add_argument("--max-drop", type=_drop, action="append", metavar="METRIC=LOSS",
                   help="tolerated loss of METRIC in its units (repeatable; default: [gate], else 0)")
    p.add_argument("--speedup-tolerance", type=_fraction, metavar="FRACTION",
                   help="tolerated relative loss of speedup (default: [gate], else 0.25)")
    p.add_argument("--skip-tolerance", type=_fraction, metavar="RATE",
                   help="tolerated change of a cache's skip rate (default: [gate], else 0.05)")
    p.add_argument("--no-outliers", dest="outliers", action="store_const", const=False,
                   help="do not fail on implementation outliers (equal work)")
    p.add_argument("--json", action="store_true", help="print every check as JSON")
    p.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML for CI to display")


def cmd_gate(args: argparse.Namespace) -> int:
    """Run the gate command."""
    from evalsuite.analysis.gate import gate_runs
    from reports.files import write_atomic
    from reports.gate import junit_xml, verdict_lines
    from reports.jsonio import to_json

    if args.junit is not None and not args.junit.parent.is_dir():
        raise UserError(f"--junit {args.junit}: no folder {args.junit.parent}")
    result = gate_runs(args.run_dir, args.reference, max_drop=dict(args.max_drop or []),
                       speedup_tolerance=args.speedup_tolerance, skip_tolerance=args.skip_tolerance,
                       outliers=args.outliers)
    if args.junit is not None:
        write_atomic(args.junit, junit_xml(result, str(args.reference)))
    if args.json:
        print(json.dumps({"passed": result.passed, "reference": str(args.reference),
                          **to_json(result)}, indent=2))
    else:
        print("\n".join(verdict_lines(result, str(args.reference))))
    return EXIT_OK if result.passed else EXIT_REGRESSION
