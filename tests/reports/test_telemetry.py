"""Cache telemetry: skip rate per threshold, inert variants, cliffs."""

from __future__ import annotations

import pytest

from reports.summary import build_summary
from reports.telemetry import SweepPoint, find_cliffs
from tests.reports._synthetic import synthetic_kwargs


def test_a_steep_small_step_is_a_cliff() -> None:
    pts = [SweepPoint("a", 0.05, 0.00, True), SweepPoint("b", 0.10, 0.01, True),
           SweepPoint("c", 0.12, 0.60, True)]
    (cliff,) = find_cliffs(pts)
    assert (cliff.before, cliff.after) == ("b", "c")
    assert cliff.share_of_loss == pytest.approx(0.59 / 0.60) and cliff.share_of_range == pytest.approx(2 / 7)


@pytest.mark.parametrize("pts", [
    # Steady decline: every step carries loss in proportion to its width.
    [SweepPoint("a", 0.1, 0.1, True), SweepPoint("b", 0.2, 0.2, True), SweepPoint("c", 0.3, 0.3, True)],
    # The jump is large but not significant against the baseline: noise, not a cliff.
    [SweepPoint("a", 0.1, 0.0, False), SweepPoint("b", 0.2, 0.0, False), SweepPoint("c", 0.22, 0.5, False)],
    # Two points: one step, nothing to compare its slope with.
    [SweepPoint("a", 0.1, 0.0, True), SweepPoint("b", 0.2, 0.9, True)],
    # Quality improves: no loss at all.
    [SweepPoint("a", 0.1, 0.3, True), SweepPoint("b", 0.2, 0.2, True), SweepPoint("c", 0.3, 0.1, True)],
])
def test_no_cliff(pts: list[SweepPoint]) -> None:
    assert find_cliffs(pts) == []


def test_unsorted_points_and_missing_losses() -> None:
    pts = [SweepPoint("c", 0.12, 0.60, None), SweepPoint("x", 0.2, None, None),
           SweepPoint("a", 0.05, 0.0, None), SweepPoint("b", 0.10, 0.01, None)]
    assert [c.after for c in find_cliffs(pts)] == ["c"]  # no significance test: shape decides


def test_summary_telemetry_flags_inert_and_cliff() -> None:
    kw = synthetic_kwargs(thresholds=(0.02, 0.05, 0.1, 0.12), drops=(0.0, 0.0, 0.01, 0.6),
                          skipped=(0, 4, 6, 8), noise=False)
    s = build_summary(**kw)
    (sweep,) = s["telemetry"]["sweeps"]
    assert sweep["accelerator"] == "fbcache" and sweep["param"] == "threshold"
    assert [p["x"] for p in sweep["points"]] == [0.02, 0.05, 0.1, 0.12]
    assert [p["skip_rate"] for p in sweep["points"]] == pytest.approx([0, 0.2, 0.3, 0.4])
    assert s["telemetry"]["inert"] == ["fbc-0.02"]
    v = {x["name"]: x for x in s["variants"]}
    assert v["fbc-0.02"]["inert"] and any(c.startswith("inert") for c in v["fbc-0.02"]["checks"])
    assert [c["after"] for c in sweep["cliffs"]["quality"]] == ["fbc-0.12"]
    assert v["fbc-0.12"]["cliffs"] and "quality" in v["fbc-0.12"]["cliffs"][0]
    assert not v["fbc-0.1"]["cliffs"]


def test_sweeps_split_by_the_other_parameters() -> None:
    kw = synthetic_kwargs(noise=False)
    for v, extra in zip(kw["variants"][1:], ({}, {"compile": {}}, {"compile": {}}), strict=True):
        v["spec"] = {**v["spec"], **extra}
    s = build_summary(**kw)
    sweeps = s["telemetry"]["sweeps"]
    assert sorted(len(sw["points"]) for sw in sweeps) == [1, 2]
    assert {tuple(sw["with"]) for sw in sweeps} == {(), ("compile",)}
