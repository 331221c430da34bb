"""The suite's ``[report]`` table: noise floor, objective and quality budgets.

```toml
[report]
noise_floor = true          # run the baseline again with other seeds: seed noise per metric
objective = "latency"       # or "cost": what the recommendation minimises
steps_frontier = true       # or a list of step counts: the baseline at fewer steps, the
                            # reference every cache is judged against (reports/frontier.py)
[[report.budget]]
metric = "ssim"
max_drop = 0.001            # or max_rise / min / max, in the metric's own units
```
Budgets are checked against the metric's direction and kind here, before anything runs,
with the same rules ``evalsuite recommend`` applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evalsuite.errors import spec_error
from reports.records import BUDGET_KINDS, Budget

NOISE_SEED_OFFSET = 100_000  # far from any suite's own seeds, so the second set never overlaps


@dataclass(frozen=True)
class ReportSpec:
    """``[report]``: the noise floor and the budgets behind the report's recommendation.

    With ``noise_floor`` the baseline runs a second time with every seed shifted by
    NOISE_SEED_OFFSET, stored under the original (prompt, seed) keys so it pairs with the
    baseline like any variant; the report reads each metric's seed noise from it.
    """

    noise_floor: bool = False
    objective: str = "latency"  # or "cost"
    budgets: tuple[Budget, ...] = ()
    steps_frontier: tuple[int, ...] = ()  # reduced step counts of the fewer-steps reference


def report_dict(r: ReportSpec) -> dict[str, Any]:
    """The ``[report]`` table as a suite file writes it."""
    return {"noise_floor": r.noise_floor, "objective": r.objective,
            "budget": [budget_table(b) for b in r.budgets],
            **({"steps_frontier": list(r.steps_frontier)} if r.steps_frontier else {})}


def _parse_frontier(source: str, value: Any, base_steps: int) -> tuple[int, ...]:
    """``steps_frontier``: true (the rule in reports.frontier.frontier_steps), false, or step counts."""
    from reports.frontier import frontier_steps

    key = "report.steps_frontier"
    if isinstance(value, bool):
        steps = frontier_steps(base_steps) if value else ()
        if value and not steps:
            raise spec_error(source, key,
                             f"the baseline's {base_steps} step(s) leave no fewer-steps reference")
        return steps
    if (not isinstance(value, list) or not value
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in value)):
        raise spec_error(source, key, "expected true, false or a list of step counts")
    bad = [n for n in value if not 1 <= n < base_steps]
    if bad:
        raise spec_error(source, key, f"step counts must lie in [1, {base_steps - 1}] (fewer than "
                         f"model.steps), got {bad[0]}")
    return tuple(sorted(set(value), reverse=True))


def parse_report(source: str, table: Mapping[str, Any], used: set[str], base_steps: int = 1) -> ReportSpec:
    """Validate ``[report]``: noise_floor, objective, ``[[report.budget]]`` and steps_frontier."""
    for key in table:
        if key not in ("noise_floor", "objective", "budget", "steps_frontier"):
            raise spec_error(source, f"report.{key}",
                             "unknown key (known: noise_floor, objective, budget, steps_frontier)")
    noise = table.get("noise_floor", False)
    if not isinstance(noise, bool):
        raise spec_error(source, "report.noise_floor", f"expected a boolean, got {type(noise).__name__}")
    objective = table.get("objective", "latency")
    if objective not in ("latency", "cost"):
        raise spec_error(source, "report.objective", f"expected \"latency\" or \"cost\", got {objective!r}")
    budgets = parse_budgets(source, table.get("budget", []), used, "report.budget")
    frontier = _parse_frontier(source, table.get("steps_frontier", False), base_steps)
    return ReportSpec(noise, objective, budgets, frontier)


def budget_table(b: Budget) -> dict[str, Any]:
    """A budget as a suite file writes it (``{ metric = "ssim", max_drop = 0.02 }``): the
    inverse of :func:`parse_budgets`, for ``[[report.budget]]`` and ``[[tune.budget]]``."""
    return {"metric": b.metric, b.kind: b.value}


def parse_budgets(source: str, raw_budgets: Any, used: set[str], where: str) -> tuple[Budget, ...]:
    """Validate a list of budget tables (``[[report.budget]]`` or ``[[tune.budget]]``)."""
    from metrics import SCORERS
    from reports.metric_info import MetricInfo
    from reports.recommend import BudgetError, check_budget

    if not isinstance(raw_budgets, list):
        raise spec_error(source, where, f"expected [[{where}]] tables")
    budgets = []
    for i, b in enumerate(raw_budgets):
        at = f"{where}[{i}]"
        if not isinstance(b, dict):
            raise spec_error(source, at, "expected a table")
        unknown = set(b) - {"metric", *BUDGET_KINDS}
        if unknown:
            raise spec_error(source, f"{at}.{sorted(unknown)[0]}",
                             f"unknown key (known: metric, {', '.join(BUDGET_KINDS)})")
        kinds = [k for k in BUDGET_KINDS if k in b]
        metric = b.get("metric")
        if not isinstance(metric, str) or metric not in used:
            raise spec_error(source, f"{at}.metric", f"expected a metric from metrics.use, got {metric!r}")
        if len(kinds) != 1:
            raise spec_error(source, at, f"expected exactly one of {', '.join(BUDGET_KINDS)}")
        value = b[kinds[0]]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise spec_error(source, f"{at}.{kinds[0]}", f"expected a number, got {type(value).__name__}")
        budget = Budget(metric, kinds[0], float(value))
        try:
            check_budget(budget, MetricInfo.of(SCORERS.get(metric)))
        except BudgetError as exc:
            raise spec_error(source, f"{at}.{kinds[0]}", str(exc)) from None
        budgets.append(budget)
    return tuple(budgets)
