"""recommend: several budgets at once, CI bounds, cost objective, reasons for rejections."""

from __future__ import annotations

import copy
import json

import pytest

from reports.recommend import Budget, BudgetError, check_budget, recommend
from reports.summary import build_summary
from tests.reports._synthetic import synthetic_kwargs


@pytest.fixture(scope="module")
def summary() -> dict:
    return build_summary(**synthetic_kwargs(drops=(0.0, 0.05, 0.5), noise=False))


def entry(summary: dict, name: str, metric: str) -> dict:
    return next(v for v in summary["variants"] if v["name"] == name)["metrics"][metric]


def test_fastest_within_every_budget_and_why_faster_ones_failed(summary: dict) -> None:
    rec = recommend(summary, [Budget("quality", "max_drop", 0.2), Budget("ssim", "max_drop", 0.05)])
    assert rec.variant == "fbc-0.1"
    assert [name for name, _ in rec.rejected] == ["fbc-0.2"]
    why = rec.rejected[0][1]
    assert "quality drop" in why and "ssim drop" in why and "95% CI bound" in why


def test_the_ci_bound_is_stricter_than_the_mean(summary: dict) -> None:
    e = entry(summary, "fbc-0.1", "quality")
    mean_drop, worst_drop = -e["delta_vs_baseline"], -e["delta_ci"][0]
    budget = (mean_drop + worst_drop) / 2  # the mean passes, the CI bound does not
    by_ci = recommend(summary, [Budget("quality", "max_drop", budget)])
    by_mean = recommend(summary, [Budget("quality", "max_drop", budget)], bound="mean")
    assert by_mean.variant == "fbc-0.1" and by_ci.variant != "fbc-0.1"
    assert any(name == "fbc-0.1" for name, _ in by_ci.rejected)


def test_min_max_use_the_mean_ci_and_lower_is_better_metrics(summary: dict) -> None:
    psnr = entry(summary, "fbc-0.1", "psnr")
    rec = recommend(summary, [Budget("psnr", "min", psnr["ci"][0] - 1e-9)])
    assert rec.variant == "fbc-0.1"
    rec = recommend(summary, [Budget("psnr", "min", psnr["mean"])])  # the lower CI end is below
    assert rec.variant != "fbc-0.1"
    cmmd = recommend(summary, [Budget("cmmd", "max_rise", 0.25)])  # set-level: point value
    assert cmmd.variant == "fbc-0.1"


def test_cost_objective_and_the_baseline_fallback(summary: dict) -> None:
    rec = recommend(summary, [Budget("quality", "max_drop", 0.0)], objective="cost")
    assert rec.variant == "baseline" and rec.objective == "cost"
    assert "no accelerated variant" in rec.reason and len(rec.rejected) == 3
    d = rec.to_dict()
    assert json.loads(json.dumps(d))["rejected"][0]["variant"] == "fbc-0.2"


def test_inert_variants_are_rejected() -> None:
    s = build_summary(**synthetic_kwargs(drops=(0.0, 0.0, 0.0), skipped=(0, 0, 0), noise=False))
    rec = recommend(s, [Budget("quality", "max_drop", 10.0)])
    assert rec.variant == "baseline" and all("inert" in why for _, why in rec.rejected)


def test_summary_read_back_from_json(summary: dict) -> None:
    # summary.json stores infinities as strings and may come from schema 1 (no CIs).
    old = copy.deepcopy(summary)
    for v in old["variants"]:
        for e in v["metrics"].values():
            e.pop("ci"), e.pop("delta_ci")
    rec = recommend(old, [Budget("quality", "max_drop", 0.2)])
    assert rec.variant == "fbc-0.1"


@pytest.mark.parametrize("budget, info, message", [
    (Budget("q", "max_rise", 1), {"higher_is_better": True, "kind": "per-image"}, "use --max-drop"),
    (Budget("q", "max_drop", 1), {"higher_is_better": False, "kind": "per-image"}, "use --max-rise"),
    (Budget("q", "max_drop", -1), {"higher_is_better": True, "kind": "per-image"}, ">= 0"),
    (Budget("psnr", "max_drop", 1), {"higher_is_better": True, "kind": "paired", "ideal": None}, "--min"),
    (Budget("q", "max_drop", float("nan")), {"higher_is_better": True, "kind": "per-image"}, "finite"),
])
def test_nonsense_budgets_are_refused(budget: Budget, info: dict, message: str) -> None:
    with pytest.raises(BudgetError, match=message):
        check_budget(budget, info)


def test_unknown_metric_and_no_budgets(summary: dict) -> None:
    with pytest.raises(BudgetError, match="not in this run"):
        recommend(summary, [Budget("nope", "min", 1)])
    with pytest.raises(BudgetError, match="at least one budget"):
        recommend(summary, [])
