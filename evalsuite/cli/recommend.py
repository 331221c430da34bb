"""``python -m evalsuite recommend RUN_DIR``: the fastest variant within quality budgets."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalsuite.cli.common import load_run
from evalsuite.errors import EXIT_FAILED_VARIANTS, EXIT_OK, UserError
from evalsuite.store.paths import SUMMARY

if TYPE_CHECKING:
    from evalsuite.suite.spec import Suite
    from reports.recommend import Budget

DESCRIPTION = (
    "Budgets are absolute, in the metric's units, against the baseline: --max-drop for "
    "higher-is-better metrics, --max-rise for lower-is-better ones; --min/--max bound the value "
    "itself. Each budget applies to the --metric before it; repeat --metric for several. With no "
    "--metric, the suite's own [[report.budget]] tables apply. A variant passes when the "
    "pessimistic end of its 95%% CI is within every budget."
)


class _Ordered(argparse.Action):
    """Keeps ``--metric`` and budget flags in command-line order, to pair them up."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[override]
        seq = getattr(namespace, "ordered", None) or []
        seq.append((self.dest, values))
        namespace.ordered = seq


def add_parser(sub: Any) -> None:
    """Register the ``recommend`` subcommand on the CLI's subparsers."""
    rec = sub.add_parser("recommend", help="fastest variant within quality budgets",
                         description=DESCRIPTION)
    rec.add_argument("run_dir", type=Path)
    rec.add_argument("--metric", dest="metric", action=_Ordered)
    for flag, dest in (("--max-drop", "max_drop"), ("--max-rise", "max_rise"),
                       ("--min", "min"), ("--max", "max")):
        rec.add_argument(flag, dest=dest, type=float, action=_Ordered)
    rec.add_argument("--objective", choices=("latency", "cost"),
                     help="minimise p50 latency or cost per image (default: the suite's "
                     "[report] objective, else latency)")
    rec.add_argument("--bound", choices=("ci", "mean"), default="ci",
                     help="hold the pessimistic end of each 95%% CI to the budget (default) or the mean")
    rec.add_argument("--json", action="store_true", help="print JSON")


def _budgets(ordered: Sequence[tuple[str, object]]) -> list[Budget]:
    from reports.recommend import Budget

    budgets, metric = [], None
    for dest, value in ordered:
        if dest == "metric":
            metric = value
        elif metric is None:
            raise UserError(f"--{dest.replace('_', '-')} must follow a --metric")
        else:
            budgets.append(Budget(str(metric), dest, float(value)))  # type: ignore[arg-type]
    return budgets


def cmd_recommend(args: argparse.Namespace) -> int:
    """Run the recommend command."""
    from reports.jsonio import SchemaError
    from reports.recommend import BudgetError, recommend, recommendation_lines
    from reports.summary import load_summary

    suite = load_run(args.run_dir)
    if not (args.run_dir / SUMMARY).is_file():
        raise UserError(f"{args.run_dir}: no summary.json yet (`evalsuite report {args.run_dir}` "
                        "writes it)")
    try:
        summary = load_summary(args.run_dir / SUMMARY)
    except SchemaError as exc:
        raise UserError(str(exc)) from None
    # No budget flags (argparse then sets no `ordered`): the suite's own budgets.
    budgets = _budgets(getattr(args, "ordered", None) or []) or list(suite.report.budgets)
    if not budgets:
        raise UserError(f"recommend: {no_budget(args.run_dir, suite)}")
    try:
        rec = recommend(summary, budgets, args.objective or suite.report.objective, args.bound)
    except BudgetError as exc:
        raise UserError(f"recommend: {exc}") from None
    if args.json:
        from reports.jsonio import to_json

        print(json.dumps(to_json(rec), indent=2))
    else:
        print("\n".join(recommendation_lines(rec)))
    return EXIT_OK if rec.variant else EXIT_FAILED_VARIANTS


def no_budget(run_dir: Path, suite: Suite) -> str:
    """Why a run folder gets no recommendation without budget flags, with an example budget on
    one of the run's own metrics (a fidelity metric with an ideal value where it has one: SSIM
    for images, ssim_video for clips)."""
    from metrics import SCORERS

    names = [m.name for m in suite.metrics]
    ideal = [n for n in names if SCORERS.get(n).ideal is not None]
    example = (ideal or names or ["ssim"])[0]
    return (f"{run_dir}'s suite has no [[report.budget]]; give one, e.g. "
            f"`evalsuite recommend {run_dir} --metric {example} --max-drop 0.01`")


def verdict_lines(suite: Suite, run_dir: Path) -> list[str]:
    """A finished run's verdict: what ``evalsuite recommend RUN_DIR`` prints, or why there is none."""
    from reports.recommend import recommendation_lines
    from reports.summary import load_summary

    rec = load_summary(run_dir / SUMMARY).recommendation if suite.report.budgets else None
    return recommendation_lines(rec) if rec else [f"recommended: none ({no_budget(run_dir, suite)})"]
