"""``python -m evalsuite tune SUITE``: the fastest setting of one parameter within budget.

Exit codes: 0 found and certified (the holdout meets every budget and the speedup's CI
excludes 1x); 3 nothing meets the budget (the closest probe and its margin are printed), the
winner failed its holdout, or its speedup cannot be told from 1x; 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evalsuite.errors import EXIT_FAILED_VARIANTS, EXIT_OK, UserError

DESCRIPTION = (
    "Searches the suite's [tune] parameter (e.g. fbcache.threshold in [0, 0.4]) for the largest "
    "grid value whose pessimistic CI bound meets every budget: bracket, then bisect; each probe is "
    "an ordinary, stored, resumable variant, judged on a growing prompt subset (Student's t CIs, "
    "Bonferroni split of 1 - confidence over its looks). The winner is confirmed on held-out "
    "prompts, and its speed is judged on a speed trial in which the baseline's worker and its own "
    "take turns image by image. "
    "Exit 0: found and certified; 3: nothing meets the budget, the holdout failed, or the speedup is "
    "indistinguishable from 1x; 2: bad input."
)


def add_parser(sub: Any) -> None:
    """Register the ``tune`` subcommand on the CLI's subparsers."""
    p = sub.add_parser("tune", help="search one accelerator parameter against quality budgets",
                       description=DESCRIPTION)
    p.add_argument("suite", help="suite file or built-in name with a [tune] table (e.g. tune-smoke)")
    p.add_argument("--out", type=Path, help="run folder (default: runs/<suite name>-tune)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _g(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _print_text(d: dict[str, Any], run_dir: Path) -> None:
    s = d["setting"]
    if s is None:
        c = d["closest"]
        print("nothing meets the budget")
        if c:
            print(f"closest probe: {c['variant']} ({c['budget']})")
    else:
        cert = ("certified on the holdout" if d["certified"]
                else f"NOT certified: {d['not_certified_because']}")
        print(f"chosen: {s['accelerator']}.{s['parameter']} = {s['value']} ({cert})")
        speed, ci = d["speedup"], d["speedup_ci"]
        cost = d["cost_per_1000_images_usd"]
        print((f"speedup {speed:.2f}x" + (f" (95% CI {ci[0]:.2f}-{ci[1]:.2f})" if ci else "")) if speed
              else "speedup n/a", f"  ${cost:.4g} per 1000 images" if cost is not None else "")
        if d["speed_trial"]:
            print(f"  speed trial: {d['speed_trial']['summary']}")
        for m, e in d["metrics"].items():
            print(f"  {m}: mean {_g(e['mean'])}, {e['kind']} at CI bound {_g(e['ci_bound'])} "
                  f"(limit {e['limit']:g}, two-sided level {e['level']:.4f})")
        for h in d["holdout"]:
            print(f"  holdout ({h['n_prompts']} prompts{', ' + str(h['setting']) if h['setting'] else ''}): "
                  f"{h['verdict']}")
    print(f"images generated: {d['images_generated']} (a full grid of {d['grid_points']} points: "
          f"{d['grid_images']})")
    print("probes: " + ", ".join(f"{p['order']}:{p['value']}={'pass' if p['passed'] else 'fail'}"
                                 f"@{p['looks'][-1]['n_prompts'] if p['looks'] else 0}" for p in d["probes"]))
    vs = d["vs_fewer_steps"]
    print(f"vs fewer steps: {vs.get('verdict') if vs else None}"
          + (f" ({vs['reason']})" if vs and vs.get("reason") else ""))
    if d["snippet"]:
        print("suite snippet:\n" + d["snippet"].rstrip())
    print(f"report: {run_dir / 'report' / 'tune.html'}")


def cmd_tune(args: argparse.Namespace) -> int:
    """Run the tune command."""
    from evalsuite.models.families.resolve import RESOLVER
    from evalsuite.suite.spec import load_suite

    suite = load_suite(args.suite, RESOLVER)  # bad input (models and fit too) fails before heavy imports
    if suite.tune is None:
        raise UserError(f"{suite.source}: tune: the suite has no [tune] table")
    _check_fit(suite)
    from evalsuite.progress import Reporter
    from evalsuite.tune.tuner import run_tune

    run_dir = args.out or Path("runs") / f"{suite.name}-tune"
    with Reporter() as progress:
        result = run_tune(suite, run_dir, progress)
    d = result.to_dict()
    if args.json:
        print(json.dumps(d, indent=2))
    else:
        _print_text(d, run_dir)
    if result.winner is None:
        print("tune: nothing meets the budget", file=sys.stderr)
    return EXIT_OK if result.certified else EXIT_FAILED_VARIANTS


def _check_fit(suite: Any) -> None:
    """The tuned technique and its companions fit the suite's model family, before any work
    (the parser checks ``[[variant]]`` tables; tune builds its probes itself)."""
    from evalsuite.models import families

    tune = suite.tune
    for name, params in ((tune.accelerator, dict(tune.calibrated)), *((a, dict(p)) for a, p in tune.fixed)):
        if (why := families.support(name, suite.model.family, params)) is not None:
            title = families.get(suite.model.family).title
            raise UserError(f"{suite.source}: tune: {name} does not fit {suite.model.id} ({title}): {why}")
