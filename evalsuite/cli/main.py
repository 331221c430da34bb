"""Thin command line: python -m evalsuite COMMAND (run, score, report, recommend, export, list, ...).

Exit codes: 0 ok, 1 internal error, 2 bad input, 3 finished with failed variants (or, for
recommend, nothing within budget). The first line of this docstring is ``--help``'s text.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from evalsuite.cli.tune import add_parser as add_tune_parser
from evalsuite.cli.tune import cmd_tune
from evalsuite.errors import EXIT_BAD_INPUT, EXIT_FAILED_VARIANTS, EXIT_INTERNAL, EXIT_OK, UserError


class _Ordered(argparse.Action):
    """Keeps ``--metric`` and budget flags in command-line order, to pair them up."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[override]
        seq = getattr(namespace, "ordered", None) or []
        seq.append((self.dest, values))
        namespace.ordered = seq


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="evalsuite", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="generate, score and report a suite (resumable)")
    run.add_argument("suite", nargs="?", help="suite file or built-in name (default: smoke)")
    run.add_argument("--out", type=Path, help="run folder (default: runs/<suite name>)")
    run.add_argument("--dry-run", action="store_true",
                     help="print images to generate, downloads and a time estimate; do nothing")
    run.add_argument("--gpu", help="GPU to estimate for with --dry-run (default: the suite's [hardware] gpu)")

    score = sub.add_parser("score", help="score a run's images again or with more metrics")
    score.add_argument("run_dir", type=Path)
    score.add_argument("--metric", action="append", default=[],
                       help="metric to add (repeatable; default: the suite's own)")

    report = sub.add_parser("report", help="re-render summary.json and report/index.html")
    report.add_argument("run_dir", type=Path)

    rec = sub.add_parser("recommend", help="fastest variant within quality budgets",
                         description="Budgets are absolute, in the metric's units, against the "
                         "baseline: --max-drop for higher-is-better metrics, --max-rise for "
                         "lower-is-better ones; --min/--max bound the value itself. Each budget "
                         "applies to the --metric before it; repeat --metric for several. With no "
                         "--metric, the suite's own [[report.budget]] tables apply. A variant "
                         "passes when the pessimistic end of its 95%% CI is within every budget.")
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

    exp = sub.add_parser("export", help="write per-sample and per-variant tables",
                         description="Writes samples.FORMAT (one row per image: prompt, seed, "
                         "latency, steps, every metric and its failure reason) and variants.FORMAT "
                         "(one row per variant: latency, cost, per metric mean, CI, delta, verdict).")
    exp.add_argument("run_dir", type=Path)
    exp.add_argument("--format", choices=("csv", "parquet", "json"), default="csv")
    exp.add_argument("--out", type=Path, help="output folder (default: RUN_DIR/export)")

    add_tune_parser(sub)

    srv = sub.add_parser("serve", help="serve a pipeline over the openai-images protocol",
                         description="Serves POST /v1/images/generations (b64_json PNGs) for the model, "
                         "optionally with one variant's accelerators; requests beyond --max-queue get 429.")
    srv.add_argument("--model", help="hub id, local folder or tiny (default: tiny, or the suite's model)")
    srv.add_argument("--suite", help="suite file or built-in name whose [model] to serve")
    srv.add_argument("--variant", help="apply this variant's accelerators (needs --suite)")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8000, help="0 picks a free port (default: 8000)")
    srv.add_argument("--device", help="auto | cpu | cuda | cuda:N (default: the model's)")
    srv.add_argument("--max-queue", type=int, default=8, help="requests admitted at once (default: 8)")
    srv.add_argument("--warmup", type=int, default=1, help="generations before serving (default: 1)")
    srv.add_argument("--api-key-env", help="require 'Authorization: Bearer' with this variable's value")

    cmp = sub.add_parser("compare", help="one report across run folders (machines, providers, dates)",
                         description="Pareto fronts of quality against latency, cost and energy "
                         "over every run's variants, and paired deltas against the first run's "
                         "baseline, computed over the (prompt, seed) pairs all runs share. Runs of "
                         "different models, or with no pair in common, are refused (exit 2).")
    cmp.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")
    cmp.add_argument("--out", type=Path, required=True, help="folder for index.html and compare.json")

    card = sub.add_parser("metric-card", help="which metrics see blur, JPEG, noise, resampling, colour",
                          description="Degrades the baseline's images (blur x3, JPEG x3, noise, "
                          "down-up scaling, colour shift), scores them with the run's metrics and "
                          "reports each response in units of the metric's seed-noise floor; writes "
                          "RUN_DIR/metric_card.json and re-renders the report. Image-space proxies, "
                          "not cache artifacts.")
    card.add_argument("run_dir", type=Path)
    card.add_argument("--limit", type=int, default=50, help="baseline images to degrade (default 50)")
    card.add_argument("--json", action="store_true", help="print JSON")

    lst = sub.add_parser("list", help="list built-in suites, metrics, accelerators, prompt sets, prices")
    lst.add_argument("what", choices=("suites", "metrics", "accelerators", "prompt-sets", "prices"))
    return p


def _budgets(ordered: Sequence[tuple[str, object]]):
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


def _load_run(run_dir: Path):
    """The run's suite; the one message for a folder that is not a run, whatever the command."""
    from evalsuite.suite.spec import load_suite

    if not (run_dir / "suite.toml").is_file() or not (run_dir / "results.sqlite").is_file():
        raise UserError(f"{run_dir}: not a run folder (it has no suite.toml and results.sqlite; "
                        "`evalsuite run` makes one)")
    return load_suite(str(run_dir / "suite.toml"))


def cmd_run(args: argparse.Namespace) -> int:
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
    print(f"report: {run_dir / 'report' / 'index.html'}")
    print(f"summary: {run_dir / 'summary.json'}")
    if outcome.failed:
        print(f"failed variants: {', '.join(outcome.failed)}", file=sys.stderr)
    sys.stderr.flush()  # the verdict is the last line, even where stdout and stderr share a terminal
    print("\n".join(verdict_lines(suite, run_dir)))
    return EXIT_FAILED_VARIANTS if outcome.failed else EXIT_OK


def _no_budget(run_dir: Path) -> str:
    return (f"{run_dir}'s suite has no [[report.budget]]; give one, e.g. "
            f"`evalsuite recommend {run_dir} --metric ssim --max-drop 0.01`")


def verdict_lines(suite, run_dir: Path) -> list[str]:  # type: ignore[no-untyped-def]
    """A finished run's verdict: what ``evalsuite recommend RUN_DIR`` prints, or why there is none."""
    from reports.recommend import recommendation_lines
    from reports.summary import load_summary

    rec = load_summary(run_dir / "summary.json").recommendation if suite.report.budgets else None
    return recommendation_lines(rec) if rec else [f"recommended: none ({_no_budget(run_dir)})"]


def cmd_score(args: argparse.Namespace) -> int:
    suite = _load_run(args.run_dir)  # bad input fails here, before the slow imports below
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
    store = Store(args.run_dir / "results.sqlite")
    try:
        stored = score_run(suite, args.run_dir, store, resolve_device(suite.model.device),
                           progress=lambda m: print(m, file=sys.stderr))
        if stored:
            write_reports(suite, args.run_dir, store)
    finally:
        store.close()
    if extra:  # keep the run's suite copy in step with what the store now holds
        import tomli_w

        (args.run_dir / "suite.toml").write_text(tomli_w.dumps(suite.to_dict()))
    names = ", ".join(u.name for u in suite.metrics)
    if not stored:
        print(f"nothing to score: every image already has a score for {names} "
              "(add metrics with --metric)")
        return EXIT_OK
    print(f"scored: {stored} values for {names}")
    print(f"report: {args.run_dir / 'report' / 'index.html'}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from evalsuite.analysis.reporting import write_reports
    from evalsuite.store.db import Store

    suite = _load_run(args.run_dir)
    store = Store(args.run_dir / "results.sqlite")
    try:
        write_reports(suite, args.run_dir, store)
    finally:
        store.close()
    print(f"report: {args.run_dir / 'report' / 'index.html'}")
    return EXIT_OK


def cmd_recommend(args: argparse.Namespace) -> int:
    from reports.jsonio import SchemaError
    from reports.recommend import BudgetError, recommend, recommendation_lines
    from reports.summary import load_summary

    suite = _load_run(args.run_dir)
    if not (args.run_dir / "summary.json").is_file():
        raise UserError(f"{args.run_dir}: no summary.json yet (`evalsuite report {args.run_dir}` "
                        "writes it)")
    try:
        summary = load_summary(args.run_dir / "summary.json")
    except SchemaError as exc:
        raise UserError(str(exc)) from None
    # No budget flags (argparse then sets no `ordered`): the suite's own budgets.
    budgets = _budgets(getattr(args, "ordered", None) or []) or list(suite.report.budgets)
    if not budgets:
        raise UserError(f"recommend: {_no_budget(args.run_dir)}")
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


def cmd_export(args: argparse.Namespace) -> int:
    from evalsuite.analysis.reporting import export_run
    from evalsuite.store.db import Store

    suite = _load_run(args.run_dir)
    store = Store(args.run_dir / "results.sqlite")
    try:
        paths = export_run(suite, args.run_dir, store, args.format, args.out or args.run_dir / "export")
    finally:
        store.close()
    for path in paths:
        print(path)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from evalsuite.run.serve import config_from_args, serve

    config = config_from_args(args.model, args.suite, args.variant, args.device, args.max_queue,
                              args.warmup, args.api_key_env)
    serve(config, args.host, args.port)
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from evalsuite.analysis.compare import compare_runs

    result = compare_runs(args.run_dirs, args.out)
    print(f"compared over {result['pairing']['shared']}")
    print(f"report: {args.out / 'index.html'}")
    return EXIT_OK


def cmd_metric_card(args: argparse.Namespace) -> int:
    from evalsuite.analysis.reporting import write_reports
    from evalsuite.run.world import resolve_device
    from evalsuite.score.metric_card import build_card, format_card, write_card
    from evalsuite.store.db import Store

    if args.limit < 1:
        raise UserError("--limit: expected a positive integer")
    suite = _load_run(args.run_dir)
    store = Store(args.run_dir / "results.sqlite")
    try:
        try:
            card = build_card(suite, args.run_dir, store, resolve_device(suite.model.device), args.limit,
                              progress=lambda m: print(m, file=sys.stderr))
        except ValueError as exc:
            raise UserError(str(exc)) from None
        write_card(args.run_dir, card)
        write_reports(suite, args.run_dir, store)
    finally:
        store.close()
    print(json.dumps(card, indent=2) if args.json else format_card(card))
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "prices":
        from evalsuite.hardware.prices import price_rows

        print(f"{'gpu':10} {'USD/hour':>9}  {'read':8} source")
        for key, usd, source, date in price_rows():
            print(f"{key:10} {usd:>9}  {date:8} {source}")
    elif args.what == "suites":
        from evalsuite.suite.spec import builtin_suites, load_suite

        for name in builtin_suites():
            print(f"{name:24} {load_suite(name).description}")
    elif args.what == "metrics":
        from evalsuite.suite.presets import METRIC_PRESETS
        from metrics import SCORERS

        for name, cls in SCORERS:
            arrow = "higher is better" if cls.higher_is_better else "lower is better"
            print(f"{name:16} {cls.kind!s:10} {arrow:17} {(cls.__doc__ or '').splitlines()[0]}")
        print("\npresets ([metrics] use = [\"@name\"]):")
        for name, (what, names) in METRIC_PRESETS.items():
            print(f"@{name:15} {what}: {', '.join(names)}")
    elif args.what == "accelerators":
        from evalsuite.accelerators import ACCELERATORS

        for name, cls in ACCELERATORS:
            print(f"{name:18} [{cls.family}] {cls.description}")
            for key, param in cls.params.items():
                rng = "".join(f" {w}={b}" for w, b in (("min", param.min), ("max", param.max),
                                                         ("choices", param.choices)) if b is not None)
                print(f"    {key} ({param.type.__name__}, default {param.default!r}{rng}): {param.doc}")
    else:
        from prompts import PROMPT_SETS

        for name, cls in PROMPT_SETS:
            print(f"{name:14} {cls.description} [source: {cls.source}; license: {cls.license}]")
    return EXIT_OK


COMMANDS = {"run": cmd_run, "score": cmd_score, "report": cmd_report,
            "recommend": cmd_recommend, "export": cmd_export, "list": cmd_list,
            "serve": cmd_serve, "compare": cmd_compare, "tune": cmd_tune,
            "metric-card": cmd_metric_card}


def _show_warning(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
    """Deprecations of plug-in names are for users: one line, no source location."""
    from registry import DeprecatedName

    if issubclass(category, DeprecatedName):
        print(f"warning: {message}", file=sys.stderr)
    else:
        _default_show_warning(message, category, filename, lineno, file, line)


_default_show_warning = warnings.showwarning


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    args = _parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            code = COMMANDS[args.command](args)
            sys.stdout.flush()  # a closed pipe shows here, while it can still be handled
            return code
    except BrokenPipeError:
        # The reader went away (`evalsuite list accelerators | head -1`): what it wanted it has.
        # Point stdout at /dev/null so the interpreter's final flush cannot complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for users, traceback with --debug
        if args.debug or os.environ.get("EVALSUITE_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
