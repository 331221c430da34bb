"""Sequential budget checks for ``tune``: pure functions, no I/O.

A tune probe is judged on a growing prompt subset (e.g. 16, then 32, then 64 prompts). At
each look every budget gets one of three verdicts from the probe's CI:

- ``pass``: the pessimistic end of the CI is within the budget;
- ``fail``: even the optimistic end breaks it;
- ``undecided``: the CI straddles the budget, so the probe needs more prompts.

Looking again at a growing sample inflates false passes: with K looks at level 1 - alpha
each, a probe that truly breaks its budget gets K chances to pass by luck. We spend alpha
by a Bonferroni split over the planned looks: every look uses the two-sided level
1 - alpha/K (the same "pessimistic end of a two-sided CI" rule as ``recommend``), so the
chance that any look falsely passes is at most alpha (alpha/2 one-sided) whatever the
dependence between looks. It is conservative; in exchange it needs no assumption about how
the looks' statistics are correlated. Each look's CI is Student's t over prompts: the
Bonferroni bound holds only if every look's interval has its nominal coverage, and a
percentile bootstrap over 4 prompts has far less (see ``budget_interval``).
A probe still undecided at its last look fails: it was not shown to meet the budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reports.bootstrap import Interval, Key, cluster_t
from reports.metric_info import MetricInfo
from reports.metric_stats import delta_interval
from reports.records import Budget

PASS = "pass"
FAIL = "fail"
UNDECIDED = "undecided"


def look_sizes(first: int, largest: int) -> tuple[int, ...]:
    """Prompt counts of the planned looks: ``first`` doubling up to ``largest`` (included).

    >>> look_sizes(16, 64)
    (16, 32, 64)
    >>> look_sizes(16, 40)
    (16, 32, 40)
    """
    if first < 1 or largest < 1:
        raise ValueError("look sizes must be at least 1")
    sizes = []
    n = min(first, largest)
    while n < largest:
        sizes.append(n)
        n *= 2
    sizes.append(largest)
    return tuple(sizes)


def look_level(confidence: float, n_looks: int) -> float:
    """Two-sided CI level of each look under a Bonferroni split of ``1 - confidence``."""
    if not 0.0 < confidence < 1.0 or n_looks < 1:
        raise ValueError("confidence must lie in (0, 1) and n_looks be at least 1")
    return 1.0 - (1.0 - confidence) / n_looks


@dataclass(frozen=True)
class BudgetLook:
    """One budget judged at one look.

    ``pessimistic`` and ``optimistic`` are the CI ends in the budget's own terms: the loss
    against the baseline for ``max_drop``/``max_rise`` (positive = worse), the metric's
    value for ``min``/``max``. ``margin`` is how far the pessimistic end is inside the
    budget (negative: outside), in the metric's units.
    """

    metric: str
    kind: str
    limit: float
    estimate: float | None
    pessimistic: float | None
    optimistic: float | None
    n_prompts: int
    verdict: str

    @property
    def margin(self) -> float:
        """Slack of the pessimistic end (negative when it breaks the budget)."""
        if self.pessimistic is None:
            return -math.inf
        if self.kind == "min":
            return self.pessimistic - self.limit
        return self.limit - self.pessimistic

    def describe(self) -> str:
        """E.g. ``ssim drop 0.012 at CI bound (limit 0.01, margin -0.002)``."""
        word = {"max_drop": "drop", "max_rise": "rise", "min": "", "max": ""}[self.kind]
        value = "n/a" if self.pessimistic is None else f"{self.pessimistic:.4g}"
        return (f"{self.metric}{' ' + word if word else ''} {value} at CI bound "
                f"(limit {self.limit:g}, margin {self.margin:+.3g})")


def budget_interval(budget: Budget, info: MetricInfo, values: Mapping[Key, float | None],
                    base: Mapping[Key, float | None], level: float) -> Interval:
    """The interval a budget is held to: the mean's for min/max, the delta's for drop/rise.

    Studentized (``bootstrap.cluster_t``), not the summary's percentile bootstrap: a look
    may decide on 4 prompts, where the bootstrap's interval cannot reach past the sample's
    own range and falsely passed 10 times as often as its level allows.
    """
    mean, delta = delta_interval(info, values, base, level=level, interval=cluster_t)
    return mean if budget.kind in ("min", "max") else delta


def judge(budget: Budget, interval: Interval) -> BudgetLook:
    """Pass, fail or undecided for one budget given its interval (see module docstring)."""
    est, lo, hi = interval.estimate, interval.lo, interval.hi
    kind, limit = budget.kind, budget.value
    if kind == "max_drop":  # the loss is minus the delta: its pessimistic end is -lo
        # + 0.0: a zero delta is a zero loss, never -0.0 (which prints as "-0")
        est, lo, hi = (None if x is None else -x + 0.0 for x in (est, hi, lo))
    if est is None:
        return BudgetLook(budget.metric, kind, limit, None, None, None, interval.n_prompts, FAIL)
    if lo is None or hi is None:  # fewer than two prompts: no spread, no decision
        return BudgetLook(budget.metric, kind, limit, est, None, None, interval.n_prompts, UNDECIDED)
    if kind == "min":
        pess, opt = lo, hi
        verdict = PASS if pess >= limit else FAIL if opt < limit else UNDECIDED
    else:  # max, max_drop, max_rise: the value (or loss) must stay at or below the limit
        pess, opt = hi, lo
        verdict = PASS if pess <= limit + 1e-12 else FAIL if opt > limit + 1e-12 else UNDECIDED
    return BudgetLook(budget.metric, kind, limit, est, pess, opt, interval.n_prompts, verdict)


def combine(looks: Sequence[BudgetLook]) -> str:
    """A probe fails if any budget fails, passes if every budget passes, else is undecided."""
    verdicts = {lk.verdict for lk in looks}
    if FAIL in verdicts:
        return FAIL
    return PASS if verdicts == {PASS} else UNDECIDED


def final(verdict: str) -> str:
    """The verdict after the last look: still undecided means not shown to pass."""
    return FAIL if verdict == UNDECIDED else verdict


def worst_margin(looks: Sequence[BudgetLook]) -> BudgetLook:
    """The budget closest to failing (or failing worst), relative to its limit's scale."""
    def scaled(lk: BudgetLook) -> float:
        return lk.margin / max(abs(lk.limit), 1e-12)

    return min(looks, key=scaled)
