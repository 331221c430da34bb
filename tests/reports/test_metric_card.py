"""The metric card's arithmetic on hand-made scores (reports/metric_card.py)."""

from __future__ import annotations

import math

import pytest

from reports.metric_card import (
    MetricRow,
    card_findings,
    card_json,
    chart_metric,
    paired_cell,
    per_image_cell,
    set_cell,
)

ORIGINAL = {("p0", 0): 10.0, ("p1", 0): 20.0, ("p2", 0): 30.0}


def test_per_image_response_is_the_mean_paired_change_in_floor_units():
    degraded = {("p0", 0): 7.0, ("p1", 0): 18.0, ("p2", 0): math.nan}  # NaN pairs are left out
    cell = per_image_cell("blur-1", ORIGINAL, degraded, floor=1.0)
    assert cell.response == pytest.approx(-2.5) and cell.n == 2
    assert cell.value == pytest.approx(12.5) and cell.floor_units == pytest.approx(2.5)
    assert cell.inside_floor is False


def test_a_response_no_larger_than_the_floor_is_flagged():
    degraded = {k: v + 0.5 for k, v in ORIGINAL.items()}
    assert per_image_cell("colour-shift", ORIGINAL, degraded, floor=0.5).inside_floor is True
    assert per_image_cell("colour-shift", ORIGINAL, degraded, floor=0.49).inside_floor is False
    unknown = per_image_cell("colour-shift", ORIGINAL, degraded, floor=None)
    assert unknown.inside_floor is None and unknown.floor_units is None


def test_paired_metrics_respond_from_their_ideal_and_flag_only_no_change():
    ssim = paired_cell("jpeg-90", {("p0", 0): 0.9, ("p1", 0): 0.8}, ideal=1.0, scale=0.6)
    assert ssim.response == pytest.approx(-0.15) and ssim.floor_units == pytest.approx(0.25)
    assert ssim.inside_floor is False  # well inside the seed scale, but any change shows
    same = paired_cell("noop", {("p0", 0): 1.0}, ideal=1.0, scale=0.6)
    assert same.inside_floor is True
    psnr = paired_cell("blur-1", {("p0", 0): 30.0, ("p1", 0): 40.0}, ideal=None, scale=None)
    assert psnr.value == 35.0 and psnr.inside_floor is False
    assert paired_cell("noop", {("p0", 0): math.inf}, None, None).inside_floor is True


def test_set_metric_against_the_reseeded_set():
    assert set_cell("blur-2", 3.0, 8, floor=2.0).floor_units == pytest.approx(1.5)
    assert set_cell("jpeg-90", 0.1, 8, floor=2.0).inside_floor is True
    failed = set_cell("jpeg-90", None, 8, floor=2.0)
    assert failed.n == 0 and failed.inside_floor is None


def test_rows_list_what_a_metric_is_blind_to_and_serialise():
    cells = (per_image_cell("blur-1", ORIGINAL, {k: v - 5 for k, v in ORIGINAL.items()}, 1.0),
             per_image_cell("colour-shift", ORIGINAL, {k: v + 0.1 for k, v in ORIGINAL.items()}, 1.0))
    row = MetricRow("sharpness", "per-image", True, 1.0, cells)
    assert row.blind_to == ("colour-shift",)
    data = card_json([row], {"blur-1": "b", "colour-shift": "c"}, images=3, caveat="proxies")
    assert data["metrics"][0]["blind_to"] == ["colour-shift"]
    assert data["metrics"][0]["cells"][0]["degradation"] == "blur-1" and data["images"] == 3


# Issue 18, 4.3: the report's selector says what the card found, and its default chart
# metric is one the card trusts (sharpness crowned the most damaged variant).
NAMES = ("blur-0.5", "blur-1", "jpeg-90", "jpeg-50", "noise-5", "colour-shift")


def _row(metric: str, kind: str, higher: bool, responses: dict[str, float],
         floor: float | None) -> MetricRow:
    original = {("p0", 0): 10.0}
    cells = []
    for name in NAMES:
        r = responses.get(name, 0.0)
        if kind == "paired":
            cells.append(paired_cell(name, {("p0", 0): 1.0 + r}, ideal=1.0, scale=floor))
        else:
            cells.append(per_image_cell(name, original, {("p0", 0): 10.0 + r}, floor))
    return MetricRow(metric, kind, higher, floor, tuple(cells))


def card_of(*rows: MetricRow) -> dict:
    return card_json(rows, {n: n for n in NAMES}, images=1, caveat="proxies")


SHARPNESS = _row("sharpness", "per-image", True,  # noise reads as detail; JPEG passes as seed noise
                 {"blur-0.5": -3, "blur-1": -9, "noise-5": 184, "colour-shift": -2}, floor=1.0)
SSIM = _row("ssim", "paired", True, {n: -0.01 * (i + 1) for i, n in enumerate(NAMES)}, floor=0.6)
BLURRY = _row("niqe", "per-image", False, {"blur-1": 5, "jpeg-90": 3, "jpeg-50": 4, "noise-5": -6},
              floor=1.0)


def test_the_card_says_what_each_metric_rewards_and_misses() -> None:
    found = card_findings(["sharpness", "ssim", "niqe", "clip_score"],
                          card_of(SHARPNESS, SSIM, BLURRY))
    assert found["sharpness"].notes == ("rises with noise", "blind to jpeg")
    assert not found["sharpness"].trusted
    assert found["ssim"].notes == () and found["ssim"].trusted
    # lower is better: noise *lowering* it is the reward; one blur level of two is a partial miss
    assert found["niqe"].notes == ("falls with noise", "blind to blur-0.5, colour-shift")
    assert found["clip_score"].notes == ("not on the metric card",)
    assert not found["clip_score"].trusted


def test_the_default_chart_metric_is_one_the_card_trusts() -> None:
    card = card_of(SHARPNESS, SSIM)
    assert chart_metric(["sharpness", "ssim"], card_findings(["sharpness", "ssim"], card)) == "ssim"
    assert chart_metric(["sharpness", "ssim"], {}) == "sharpness"  # no card: the suite's order
    only_bad = card_findings(["sharpness"], card_of(SHARPNESS))
    assert chart_metric(["sharpness"], only_bad) == "sharpness"  # nothing trusted: still a chart
    blind = _row("blind", "per-image", True, {"blur-1": -5}, floor=1.0)  # sees only blur-1
    both = card_findings(["blind", "ssim"], card_of(blind, SSIM))
    assert both["blind"].trusted and chart_metric(["blind", "ssim"], both) == "ssim"  # fewer blind spots


def test_without_a_noise_floor_any_move_the_better_way_is_marked() -> None:
    # The techniques suite measures no seed-noise floor: noise raised sharpness by +184 there,
    # and the selector said nothing, because no response could be judged against a floor.
    no_floor = _row("sharpness", "per-image", True, {"blur-1": -9, "noise-5": 184}, floor=None)
    found = card_findings(["sharpness", "ssim"], card_of(no_floor, SSIM))
    assert found["sharpness"].notes == ("rises with noise",)  # nothing is called blind without a floor
    assert not found["sharpness"].trusted
    lowered = _row("sharpness", "per-image", True, {"blur-1": -9}, floor=None)
    clean = card_findings(["sharpness"], card_of(lowered))
    assert clean["sharpness"].trusted  # blur lowers it, nothing raises it
