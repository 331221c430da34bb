"""build_summary on synthetic tables with known effects: CIs, verdicts, noise floor, categories."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from reports.categories import first_to_break
from reports.summary import SCHEMA_VERSION, build_summary, summary_from_json, summary_to_json
from reports.summary_records import CategoryCell, Summary, VariantResult
from tests.reports._synthetic import synthetic_kwargs


@pytest.fixture(scope="module")
def summary() -> Summary:
    return build_summary(**synthetic_kwargs(drops=(0.0, 0.03, 0.5), category_drop={"text": 0.1}))


def by_name(summary: Summary) -> dict[str, VariantResult]:
    return {v.name: v for v in summary.variants}


def test_schema_and_strict_json(summary: Summary) -> None:
    assert summary.schema_version == SCHEMA_VERSION == 3
    assert summary.stats and summary.stats.level == 0.95
    data = summary_to_json(summary)
    json.dumps(data, allow_nan=False)  # strict JSON: infinities became strings, NaN null
    for v in data["variants"]:
        assert v["cost_per_1000_images_usd"] == pytest.approx(v["cost_per_image_usd"] * 1000)
        for e in v["metrics"].values():
            assert {"mean", "ci", "delta_vs_baseline", "delta_ci", "significant", "verdict",
                    "n_valid", "within_noise"} <= set(e)
    assert data["telemetry"]["sweeps"][0]["with"] == {}  # the record's with_ is "with" in JSON


def test_summary_json_round_trips_to_the_same_records(summary: Summary) -> None:
    assert summary_from_json(json.loads(json.dumps(summary_to_json(summary)))) == summary


def test_noise_variant_is_a_floor_not_a_variant(summary: Summary) -> None:
    assert [v.name for v in summary.variants] == ["baseline", "fbc-0.05", "fbc-0.1", "fbc-0.2"]
    nf = summary.noise_floor
    assert nf and nf.variant == "baseline~noise" and nf.seed_offset == 100_000
    q = nf.metrics["quality"]
    assert q.delta_ci and q.floor == pytest.approx(max(abs(q.delta_ci[0]), abs(q.delta_ci[1])))
    assert 0 < q.floor < 0.2  # reseeding adds N(0, 0.1) per image, no shift
    assert nf.metrics["ssim"].mean == pytest.approx(0.55, abs=0.01)  # a different sample
    assert nf.metrics["cmmd"].floor is None


def test_verdicts_follow_the_ci_and_the_floor(summary: Summary) -> None:
    v = by_name(summary)
    floor = summary.noise_floor.metrics["quality"].floor  # type: ignore[union-attr]
    assert floor is not None
    assert v["baseline"].metrics["quality"].verdict == "reference"
    same = v["fbc-0.05"].metrics["quality"]  # true drop 0 (plus the text category's)
    assert same.delta_ci and same.delta_vs_baseline is not None
    assert same.delta_ci[0] <= 0 <= same.delta_ci[1] or abs(same.delta_vs_baseline) <= floor
    worse = v["fbc-0.2"].metrics["quality"]
    assert worse.verdict == "worse" and worse.significant and worse.delta_ci and worse.delta_ci[1] < -floor
    for x in summary.variants[1:]:
        e = x.metrics["quality"]
        if e.verdict == "within seed noise":
            assert e.significant and abs(e.delta_vs_baseline or 0) <= floor
        if e.verdict == "indistinguishable":
            assert e.delta_ci and e.delta_ci[0] <= 0 <= e.delta_ci[1]
    # Paired metric: delta against the ideal, CI shifted with it.
    s = v["fbc-0.2"].metrics["ssim"]
    assert s.mean is not None and s.ci and s.delta_vs_baseline == pytest.approx(s.mean - 1.0)
    assert s.delta_ci == pytest.approx((s.ci[0] - 1.0, s.ci[1] - 1.0))
    assert v["fbc-0.2"].metrics["psnr"].delta_vs_baseline is None  # no finite ideal


def test_without_noise_floor_there_is_no_noise_verdict() -> None:
    s = build_summary(**synthetic_kwargs(noise=False, drops=(0.0, 0.03, 0.5)))
    assert s.noise_floor is None
    assert all(e.verdict != "within seed noise" and e.within_noise is None
               for v in s.variants for e in v.metrics.values())


def test_text_category_breaks_first(summary: Summary) -> None:
    cats = summary.categories["quality"]
    assert [c.name for c in cats.categories] == ["animals", "scenes", "text"]
    assert cats.first_to_break[0].category == "text"
    assert cats.cells["text"]["fbc-0.05"].delta == pytest.approx(-0.1, abs=0.03)
    assert "cmmd" not in summary.categories  # set-level: no per-category values


def test_first_to_break_orders_by_first_significant_loss() -> None:
    def cell(verdict: str | None, loss: float) -> CategoryCell:
        return CategoryCell(None, 1, None, None, loss, verdict)

    cells = {"a": {"v1": cell("worse", 0.1), "v2": cell("worse", 0.2)},
             "b": {"v1": cell("indistinguishable", 0.0), "v2": cell("worse", 0.9)},
             "c": {"v1": cell(None, 0.5), "v2": cell(None, 0.6)}}
    order = first_to_break(cells, ["v1", "v2"])
    assert [(r.category, r.variant) for r in order] == [("a", "v1"), ("b", "v2"), ("c", None)]


def test_pareto_and_speedup_ignore_the_noise_variant(summary: Summary) -> None:
    v = by_name(summary)
    assert (v["fbc-0.2"].speedup_p50 or 0) > (v["fbc-0.05"].speedup_p50 or 0) > 1
    assert v["fbc-0.2"].pareto["quality"].latency  # fastest is always on the front
    assert all("baseline~noise" not in json.dumps(summary_to_json(x)["pareto"]) for x in summary.variants)


def test_failed_images_are_counted_not_zeroed() -> None:
    kw = synthetic_kwargs(noise=False)
    kw["scores"] = [replace(r, value=None, reason="scorer returned NaN")
                    if r.variant_id == "v-2" and r.metric == "quality" and r.prompt_id == "p000" else r
                    for r in kw["scores"]]
    e = by_name(build_summary(**kw))["fbc-0.2"].metrics["quality"]
    assert e.n_failed == 2 and e.n_valid == 22 and e.failures == {"scorer returned NaN": 2}


def test_cost_uses_mean_latency_and_the_variants_gpus() -> None:
    kw = synthetic_kwargs(noise=False)
    kw["variants"] = [replace(v, gpus_per_image=4) if v.id == "v-0" else v for v in kw["variants"]]
    v = by_name(build_summary(**kw))
    one, four = v["fbc-0.1"], v["fbc-0.05"]
    assert one.latency_s and four.latency_s
    assert one.cost_per_image_usd == pytest.approx(one.latency_s.mean * 3.6 / 3600)
    assert four.gpus_per_image == 4
    assert four.cost_per_image_usd == pytest.approx(four.latency_s.mean * 3.6 / 3600 * 4)
