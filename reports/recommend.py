"""``recommend``: the fastest (or cheapest) variant whose quality stays within every budget.

Budgets are absolute, in each metric's own units, and compare the variant's mean with the
baseline's: ``max_drop`` for metrics where higher is better, ``max_rise`` where lower is
better; ``min``/``max`` bound the variant's mean directly. For paired metrics (PSNR, SSIM,
LPIPS: fidelity to the baseline image) the baseline's own value is the metric's ideal
(SSIM 1, LPIPS 0); PSNR has no finite ideal, so it takes ``min`` (e.g. ``--min 30``) only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reports.summary import quality_of

BudgetKind = Literal["max_drop", "max_rise", "min", "max"]


class BudgetError(ValueError):
    """A budget that cannot be applied to its metric (one-line message)."""


@dataclass(frozen=True)
class Budget:
    """One quality constraint."""

    metric: str
    kind: BudgetKind
    value: float

    def describe(self) -> str:
        """E.g. ``ssim drop <= 0.02``."""
        words = {"max_drop": "drop <=", "max_rise": "rise <=", "min": ">=", "max": "<="}
        return f"{self.metric} {words[self.kind]} {self.value:g}"


@dataclass(frozen=True)
class Recommendation:
    """The pick, why, and why each faster (or cheaper) variant was rejected."""

    variant: str | None
    objective: str
    objective_value: float | None
    reason: str
    budgets: tuple[str, ...]
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"variant": self.variant, "objective": self.objective,
                "objective_value": self.objective_value, "reason": self.reason,
                "budgets": list(self.budgets),
                "rejected": [{"variant": n, "reason": r} for n, r in self.rejected]}


def _check(budget: Budget, variant: Mapping[str, Any], base: Mapping[str, Any],
           info: Mapping[str, Any]) -> str | None:
    """None if ``variant`` meets ``budget``, else the reason it does not."""
    value = quality_of(variant, budget.metric, info)
    if math.isnan(value):
        return f"no valid {budget.metric} values"
    if budget.kind == "min":
        return None if value >= budget.value else f"{budget.metric} {value:.4g} < {budget.value:g}"
    if budget.kind == "max":
        return None if value <= budget.value else f"{budget.metric} {value:.4g} > {budget.value:g}"
    ref = quality_of(base, budget.metric, info)
    loss = ref - value if budget.kind == "max_drop" else value - ref
    if loss <= budget.value + 1e-12:
        return None
    word = "drop" if budget.kind == "max_drop" else "rise"
    return f"{budget.metric} {word} {loss:.4g} > {budget.value:g} (baseline {ref:.4g}, variant {value:.4g})"


def validate_budgets(summary: Mapping[str, Any], budgets: Sequence[Budget]) -> None:
    """Raise :class:`BudgetError` for budgets that make no sense for their metric."""
    metrics = summary["metrics"]
    if not budgets:
        raise BudgetError("give at least one budget, e.g. --metric ssim --max-drop 0.02")
    for b in budgets:
        if b.metric not in metrics:
            raise BudgetError(f"metric {b.metric!r} is not in this run (have: {', '.join(metrics)})")
        info = metrics[b.metric]
        if b.value < 0 and b.kind in ("max_drop", "max_rise"):
            raise BudgetError(f"{b.describe()}: a drop or rise budget must be >= 0")
        if b.kind == "max_drop" and not info["higher_is_better"]:
            raise BudgetError(f"{b.metric} is lower-is-better: use --max-rise")
        if b.kind == "max_rise" and info["higher_is_better"]:
            raise BudgetError(f"{b.metric} is higher-is-better: use --max-drop")
        if b.kind in ("max_drop", "max_rise") and info["kind"] != "per-image" \
                and info.get("ideal") is None:
            raise BudgetError(f"{b.metric} compares each image with the baseline's, so the "
                              f"baseline has no finite {b.metric} to {b.kind[4:]} from: "
                              f"bound it with --min/--max instead")


def recommend(summary: Mapping[str, Any], budgets: Sequence[Budget],
              objective: Literal["latency", "cost"] = "latency") -> Recommendation:
    """Pick the fastest (``latency``: p50) or cheapest (``cost``: $/image) variant within budget."""
    validate_budgets(summary, budgets)
    described = tuple(b.describe() for b in budgets)
    variants = [v for v in summary["variants"] if v["status"] == "ok" and v["latency_s"]]
    base = next((v for v in summary["variants"] if v["is_baseline"]), None)
    if base is None or base["status"] != "ok":
        return Recommendation(None, objective, None, "the baseline did not complete, so no "
                              "quality loss can be measured", described)

    def key(v: Mapping[str, Any]) -> float:
        return v["latency_s"]["p50"] if objective == "latency" else (v["cost_per_image_usd"] or math.inf)

    rejected: list[tuple[str, str]] = []
    for v in sorted(variants, key=key):
        reasons = [r for b in budgets if (r := _check(b, v, base, summary["metrics"][b.metric]))]
        if v.get("inert"):
            reasons.append("inert: its cache never skipped a step")
        if not reasons:
            what = "p50 latency" if objective == "latency" else "cost per image"
            reason = (f"fastest within budget by {what}" if not v["is_baseline"]
                      else "no accelerated variant that is faster stays within budget")
            return Recommendation(v["name"], objective, key(v), reason, described, rejected)
        rejected.append((v["name"], "; ".join(reasons)))
    return Recommendation(None, objective, None, "no variant stays within budget", described,
                          rejected)
