"""The metric card's arithmetic on hand-made scores (reports/metric_card.py)."""

from __future__ import annotations

import math

import pytest

from reports.metric_card import MetricRow, card_json, paired_cell, per_image_cell, set_cell

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
