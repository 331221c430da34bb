"""``recommend``: the fastest (or cheapest) variant whose quality stays within every budget.

Budgets are absolute, in each metric's own units, and compare the variant with the
baseline: ``max_drop`` for metrics where higher is better, ``max_rise`` where lower is
better; ``min``/``max`` bound the variant's value directly. For paired metrics (PSNR, SSIM,
LPIPS: fidelity to the baseline image) the baseline's own value is the metric's ideal
(SSIM 1, LPIPS 0); PSNR has no finite ideal, so it takes ``min`` (e.g. ``--min 30``) only.

By default a variant must stay within budget at the pessimistic end of its 95% CI (the
paired delta's CI for drops and rises, the mean's CI for min/max): a variant whose mean
loss is within budget only by luck of the prompt sample is rejected. ``bound="mean"``
compares point estimates instead. Set-level metrics have one value per set, so no CI.

A variant is preferred to the baseline for its speed only when that speed is real: its
speedup's 95% CI must lie above 1x and beyond the sweep's timing drift (for ``cost``, its
cost ratio's CI, GPUs per image included). A faster-looking variant whose gain is inside
the noise is rejected with that reason (``reports.speedup.no_credible_gain``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from reports.metric_info import MetricInfo
from reports.records import Budget, Recommendation, Rejection
from reports.speedup import no_credible_gain
from reports.summary import quality_of
from reports.summary_records import Summary, VariantResult

__all__ = ["Budget", "BudgetError", "Recommendation", "check_budget", "recommend", "recommendation_lines",
           "validate_budgets"]

Bound = Literal["ci", "mean"]


class BudgetError(ValueError):
    """A budget that cannot be applied to its metric (one-line message)."""


def _delta_bound(v: VariantResult, b: Budget, bound: Bound) -> float | None:
    """The loss to hold against a drop/rise budget: the CI end on the losing side."""
    entry = v.metrics[b.metric]
    if bound == "ci" and entry.delta_ci:
        return -entry.delta_ci[0] if b.kind == "max_drop" else entry.delta_ci[1]
    if entry.delta_vs_baseline is None:
        return None
    return -entry.delta_vs_baseline if b.kind == "max_drop" else entry.delta_vs_baseline


def _check(budget: Budget, variant: VariantResult, base: VariantResult, info: MetricInfo,
           bound: Bound = "ci") -> str | None:
    """None if ``variant`` meets ``budget``, else the reason it does not."""
    entry = variant.metrics.get(budget.metric)
    if entry is not None and entry.not_applicable:  # e.g. PSNR of another model: no comparison
        return f"{budget.metric} n/a: {entry.not_applicable}"
    value = quality_of(variant, budget.metric, info)
    if entry is None or math.isnan(value):
        return f"no valid {budget.metric} values"
    ci = entry.ci if bound == "ci" and not entry.reference else None
    at = " at its 95% CI bound" if ci else ""
    if budget.kind == "min":
        low = ci[0] if ci else value
        return None if low >= budget.value else (
            f"{budget.metric} {low:.4g}{at} < {budget.value:g} (mean {value:.4g})")
    if budget.kind == "max":
        high = ci[1] if ci else value
        return None if high <= budget.value else (
            f"{budget.metric} {high:.4g}{at} > {budget.value:g} (mean {value:.4g})")
    if entry.reference:
        return None  # the baseline against itself: no loss
    loss = _delta_bound(variant, budget, bound)
    if loss is None:  # no delta stored (an old summary): compare the means
        ref = quality_of(base, budget.metric, info)
        loss = ref - value if budget.kind == "max_drop" else value - ref
    if loss <= budget.value + 1e-12:
        return None
    word = "drop" if budget.kind == "max_drop" else "rise"
    at = " at the 95% CI bound" if bound == "ci" and entry.delta_ci else ""
    mean = entry.delta_vs_baseline
    mean_loss = f", mean {(-mean if budget.kind == 'max_drop' else mean):.4g}" if mean is not None else ""
    return f"{budget.metric} {word} {loss:.4g}{at} > {budget.value:g}{mean_loss}"


def check_budget(b: Budget, info: MetricInfo) -> None:
    """Raise :class:`BudgetError` if ``b`` makes no sense for the metric ``info`` describes.

    ``info`` comes from a summary, or from a scorer class when a suite file is validated
    before anything runs (``MetricInfo.of``).
    """
    if b.kind not in ("max_drop", "max_rise", "min", "max"):
        raise BudgetError(f"{b.metric}: unknown budget kind {b.kind!r}")
    if not math.isfinite(b.value):
        raise BudgetError(f"{b.describe()}: the budget must be a finite number")
    if b.value < 0 and b.kind in ("max_drop", "max_rise"):
        raise BudgetError(f"{b.describe()}: a drop or rise budget must be >= 0")
    if b.kind == "max_drop" and not info.higher_is_better:
        raise BudgetError(f"{b.metric} is lower-is-better: use --max-rise")
    if b.kind == "max_rise" and info.higher_is_better:
        raise BudgetError(f"{b.metric} is higher-is-better: use --max-drop")
    if b.kind in ("max_drop", "max_rise") and not info.has_delta:
        raise BudgetError(f"{b.metric} compares each image with the baseline's, so the "
                          f"baseline has no finite {b.metric} to {b.kind[4:]} from: "
                          f"bound it with --min/--max instead")


def validate_budgets(summary: Summary, budgets: Sequence[Budget]) -> None:
    """Raise :class:`BudgetError` for budgets that make no sense for their metric."""
    if not budgets:
        raise BudgetError("give at least one budget, e.g. --metric ssim --max-drop 0.02")
    for b in budgets:
        if b.metric not in summary.metrics:
            raise BudgetError(f"metric {b.metric!r} is not in this run (have: {', '.join(summary.metrics)})")
        check_budget(b, summary.metrics[b.metric])


def recommend(summary: Summary, budgets: Sequence[Budget],
              objective: Literal["latency", "cost"] = "latency", bound: Bound = "ci") -> Recommendation:
    """Pick the fastest (``latency``: p50) or cheapest (``cost``: $/image) variant within budget.

    Args:
        summary: the summary (as built, or read back from summary.json).
        budgets: every constraint; a variant must meet all of them.
        objective: what "best" means among the variants within budget.
        bound: ``ci`` holds the pessimistic end of each 95% CI to the budget, ``mean`` the
            point estimate.

    Returns:
        The pick (the baseline when no faster variant qualifies) and the reason each
        faster (or cheaper) variant was rejected.
    """
    validate_budgets(summary, budgets)
    described = tuple(b.describe() for b in budgets)
    base = summary.base
    if base is None or base.status != "ok":
        return Recommendation(None, objective, None, "the baseline did not complete, so no "
                              "quality loss can be measured", described, bound)

    def key(v: VariantResult) -> float:
        if objective == "latency":
            return v.latency_s.p50  # type: ignore[union-attr]
        return v.cost_per_image_usd if v.cost_per_image_usd is not None else math.inf

    rejected: list[Rejection] = []
    for v in sorted((v for v in summary.variants if v.status == "ok" and v.latency_s), key=key):
        reasons = [r for b in budgets if (r := _check(b, v, base, summary.metrics[b.metric], bound))]
        if v.inert:
            reasons.append("inert: its cache never skipped a step")
        if not v.is_baseline and key(v) < key(base):  # preferred for its speed: is the gain real?
            ratio = 1.0 if objective == "latency" else base.gpus_per_image / v.gpus_per_image
            if gain := no_credible_gain(v.speedup, ratio):
                reasons.append(gain)
        if not reasons:
            what = "p50 latency" if objective == "latency" else "cost per image"
            reason = (f"fastest within budget by {what}" if not v.is_baseline
                      else "no accelerated variant that is faster stays within budget")
            return Recommendation(v.name, objective, key(v), reason, described, bound, tuple(rejected),
                                  calibration=v.calibration)
        rejected.append(Rejection(v.name, "; ".join(reasons)))
    return Recommendation(None, objective, None, "no variant stays within budget", described, bound,
                          tuple(rejected))


def budget_failure(budgets: Sequence[Budget], objective: str, error: BudgetError) -> Recommendation:
    """The recommendation when the budgets cannot be applied (e.g. a metric that failed everywhere)."""
    return Recommendation(None, objective, None, str(error), tuple(b.describe() for b in budgets))


def budgets_recommendation(summary: Summary, budgets: Sequence[Budget], objective: str
                           ) -> Recommendation | None:
    """The recommendation under a suite's own budgets (None when it sets none); budgets that
    cannot be applied give a recommendation of nothing that says why, never an error."""
    if not budgets:
        return None
    try:
        return recommend(summary, budgets, "cost" if objective == "cost" else "latency")
    except BudgetError as exc:  # e.g. a metric whose scorer failed for every image
        return budget_failure(budgets, objective, exc)


def recommendation_lines(rec: Recommendation) -> list[str]:
    """The recommendation as ``evalsuite recommend`` prints it (and ``run`` ends with it)."""
    return [f"recommended: {rec.variant or 'none'} ({rec.reason})",
            *(f"  fitted in the run: {fitted_line(name, fit)}" for name, fit in rec.calibration.items()),
            *(f"  rejected {r.variant}: {r.reason}" for r in rec.rejected)]


def fitted_line(accelerator: str, fit: Mapping[str, Any]) -> str:
    """Numbers a variant fitted in the run, as a suite file would give them, with the fit's quality."""
    key = "coefficients" if "coefficients" in fit else "mag_ratios"
    values = ", ".join(f"{float(v):.6g}" for v in fit.get(key, ()))
    quality = [f"R² {fit['r2']:.3f}" if isinstance(fit.get("r2"), float) else "",
               f"max relative SD {fit['max_relative_sd']:.3f}"
               if isinstance(fit.get("max_relative_sd"), float) else "",
               f"{fit['n_images']} images" if "n_images" in fit else ""]
    return f"{accelerator} = {{ {key} = [{values}] }} ({', '.join(q for q in quality if q)})"
