"""recommend: several budgets at once, CI bounds, cost objective, reasons for rejections."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from reports.jsonio import to_json
from reports.metric_info import MetricInfo
from reports.recommend import Budget, BudgetError, check_budget, recommend, recommendation_lines
from reports.summary import build_summary, summary_from_json, summary_to_json
from reports.summary_records import MetricEntry, Summary
from tests.reports._synthetic import synthetic_kwargs


@pytest.fixture(scope="module")
def summary() -> Summary:
    return build_summary(**synthetic_kwargs(drops=(0.0, 0.05, 0.5), noise=False))


def entry(summary: Summary, name: str, metric: str) -> MetricEntry:
    return summary.variant(name).metrics[metric]


def test_fastest_within_every_budget_and_why_faster_ones_failed(summary: Summary) -> None:
    rec = recommend(summary, [Budget("quality", "max_drop", 0.2), Budget("ssim", "max_drop", 0.05)])
    assert rec.variant == "fbc-0.1"
    assert [r.variant for r in rec.rejected] == ["fbc-0.2"]
    why = rec.rejected[0].reason
    assert "quality drop" in why and "ssim drop" in why and "95% CI bound" in why


def test_the_ci_bound_is_stricter_than_the_mean(summary: Summary) -> None:
    e = entry(summary, "fbc-0.1", "quality")
    assert e.delta_vs_baseline is not None and e.delta_ci
    mean_drop, worst_drop = -e.delta_vs_baseline, -e.delta_ci[0]
    budget = (mean_drop + worst_drop) / 2  # the mean passes, the CI bound does not
    by_ci = recommend(summary, [Budget("quality", "max_drop", budget)])
    by_mean = recommend(summary, [Budget("quality", "max_drop", budget)], bound="mean")
    assert by_mean.variant == "fbc-0.1" and by_ci.variant != "fbc-0.1"
    assert any(r.variant == "fbc-0.1" for r in by_ci.rejected)


def test_min_max_use_the_mean_ci_and_lower_is_better_metrics(summary: Summary) -> None:
    psnr = entry(summary, "fbc-0.1", "psnr")
    assert psnr.ci and psnr.mean is not None
    rec = recommend(summary, [Budget("psnr", "min", psnr.ci[0] - 1e-9)])
    assert rec.variant == "fbc-0.1"
    rec = recommend(summary, [Budget("psnr", "min", psnr.mean)])  # the lower CI end is below
    assert rec.variant != "fbc-0.1"
    cmmd = recommend(summary, [Budget("cmmd", "max_rise", 0.25)])  # set-level: point value
    assert cmmd.variant == "fbc-0.1"


def test_cost_objective_and_the_baseline_fallback(summary: Summary) -> None:
    rec = recommend(summary, [Budget("quality", "max_drop", 0.0)], objective="cost")
    assert rec.variant == "baseline" and rec.objective == "cost"
    assert "no accelerated variant" in rec.reason and len(rec.rejected) == 3
    d = json.loads(json.dumps(to_json(rec)))
    assert d["rejected"][0] == {"variant": "fbc-0.2", "reason": rec.rejected[0].reason}
    assert d["budgets"] == ["quality drop <= 0"] and d["bound"] == "ci"


def test_inert_variants_are_rejected() -> None:
    s = build_summary(**synthetic_kwargs(drops=(0.0, 0.0, 0.0), skipped=(0, 0, 0), noise=False))
    rec = recommend(s, [Budget("quality", "max_drop", 10.0)])
    assert rec.variant == "baseline" and all("inert" in r.reason for r in rec.rejected)


def test_summary_read_back_from_json(summary: Summary) -> None:
    # summary.json stores infinities as strings and may come from schema 1 (no CIs).
    data = json.loads(json.dumps(summary_to_json(summary)))
    data["schema_version"] = 1
    for v in data["variants"]:
        for e in v["metrics"].values():
            e.pop("ci"), e.pop("delta_ci")
    old = summary_from_json(data)
    assert old.variant("fbc-0.1").metrics["quality"].ci is None
    rec = recommend(old, [Budget("quality", "max_drop", 0.2)])
    assert rec.variant == "fbc-0.1"


def test_an_infinite_psnr_survives_the_round_trip(summary: Summary) -> None:
    best = replace(summary.variant("fbc-0.1").metrics["psnr"], mean=float("inf"), ci=None)
    variants = tuple(replace(v, metrics={**v.metrics, "psnr": best}) if v.name == "fbc-0.1" else v
                     for v in summary.variants)
    text = json.dumps(summary_to_json(replace(summary, variants=variants)), allow_nan=False)
    back = summary_from_json(json.loads(text))
    assert back.variant("fbc-0.1").metrics["psnr"].mean == float("inf")
    assert recommend(back, [Budget("psnr", "min", 1e6)]).variant == "fbc-0.1"


@pytest.mark.parametrize("budget, info, message", [
    (Budget("q", "max_rise", 1), MetricInfo(True, "per-image"), "use --max-drop"),
    (Budget("q", "max_drop", 1), MetricInfo(False, "per-image"), "use --max-rise"),
    (Budget("q", "max_drop", -1), MetricInfo(True, "per-image"), ">= 0"),
    (Budget("psnr", "max_drop", 1), MetricInfo(True, "paired", None), "--min"),
    (Budget("q", "max_drop", float("nan")), MetricInfo(True, "per-image"), "finite"),
])
def test_nonsense_budgets_are_refused(budget: Budget, info: MetricInfo, message: str) -> None:
    with pytest.raises(BudgetError, match=message):
        check_budget(budget, info)


def test_unknown_metric_and_no_budgets(summary: Summary) -> None:
    with pytest.raises(BudgetError, match="not in this run"):
        recommend(summary, [Budget("nope", "min", 1)])
    with pytest.raises(BudgetError, match="at least one budget"):
        recommend(summary, [])


def test_a_pick_that_fitted_its_numbers_carries_them_read_back_and_printed(summary: Summary) -> None:
    fit = {"coefficients": [2.0, -0.5, 0.1], "r2": 0.97, "n_points": 12, "n_images": 4}
    variants = tuple(replace(v, calibration={"teacache": fit}) if v.name == "fbc-0.1" else v
                     for v in summary.variants)
    back = summary_from_json(json.loads(json.dumps(summary_to_json(replace(summary, variants=variants)))))
    rec = recommend(back, [Budget("quality", "max_drop", 0.2), Budget("ssim", "max_drop", 0.05)])
    assert rec.variant == "fbc-0.1" and rec.calibration == {"teacache": fit}
    assert to_json(rec)["calibration"] == {"teacache": fit}
    assert "  fitted in the run: teacache = { coefficients = [2, -0.5, 0.1] } (R² 0.970, 4 images)" in (
        recommendation_lines(rec))
