"""Cache telemetry: skip rate per threshold, inert variants, cliffs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reports.records import CacheUse, SweepAxis
from reports.summary import build_summary
from reports.telemetry import INERT_CHECK, SweepPoint, find_cliffs
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
    assert find_cliffs(pts) == ()


def test_unsorted_points_and_missing_losses() -> None:
    pts = [SweepPoint("c", 0.12, 0.60, None), SweepPoint("x", 0.2, None, None),
           SweepPoint("a", 0.05, 0.0, None), SweepPoint("b", 0.10, 0.01, None)]
    assert [c.after for c in find_cliffs(pts)] == ["c"]  # no significance test: shape decides


def test_summary_telemetry_flags_inert_and_cliff() -> None:
    kw = synthetic_kwargs(thresholds=(0.02, 0.05, 0.1, 0.12), drops=(0.0, 0.0, 0.01, 0.6),
                          skipped=(0, 4, 6, 8), noise=False)
    s = build_summary(**kw)
    (sweep,) = s.telemetry.sweeps
    assert (sweep.accelerator, sweep.param, sweep.group) == ("fbcache", "threshold", "fbc")
    assert [p.x for p in sweep.points] == [0.02, 0.05, 0.1, 0.12]
    assert [p.skip_rate for p in sweep.points] == pytest.approx([0, 0.2, 0.3, 0.4])
    assert s.telemetry.inert == ("fbc-0.02",)
    v = {x.name: x for x in s.variants}
    assert v["fbc-0.02"].inert and v["fbc-0.02"].checks.count(INERT_CHECK) == 1
    assert [c.after for c in sweep.cliffs["quality"]] == ["fbc-0.12"]
    assert v["fbc-0.12"].cliffs and "quality" in v["fbc-0.12"].cliffs[0]
    assert not v["fbc-0.1"].cliffs


def test_the_inert_check_is_added_once_and_only_for_a_cache_that_never_skipped() -> None:
    kw = synthetic_kwargs(skipped=(0, 0, 3), noise=False)
    # A worker's own note (e.g. from an older run) is not repeated; other checks stay.
    kw["variants"] = [replace(v, checks=(INERT_CHECK, "inert: torch.compile compiled nothing"))
                      if v.id == "v-0" else v for v in kw["variants"]]
    kw["variants"] = [replace(v, checks=(INERT_CHECK,)) if v.id == "v-2" else v for v in kw["variants"]]
    v = {x.name: x for x in build_summary(**kw).variants}
    assert v["fbc-0.05"].checks == ("inert: torch.compile compiled nothing", INERT_CHECK)
    assert v["fbc-0.1"].inert and not v["fbc-0.2"].inert and v["fbc-0.2"].checks == ()
    assert not v["baseline"].inert  # not a cache: nothing to be inert


def test_sweeps_are_the_suites_own_not_guessed() -> None:
    """A [[variant]] table sweeping two parameters: one series per value of the other axis."""
    kw = synthetic_kwargs(thresholds=(0.05, 0.1, 0.2, 0.3), drops=(0, 0, 0.1, 0.1), noise=False)
    sweep = (SweepAxis("fbcache", "threshold", (0.05, 0.1)), SweepAxis("compile", "mode", ("a", "b")))
    modes = {"v-0": "a", "v-1": "b", "v-2": "a", "v-3": "b"}
    thresholds = {"v-0": 0.05, "v-1": 0.05, "v-2": 0.1, "v-3": 0.1}
    kw["variants"] = [v if v.id not in modes else replace(
        v, sweep=sweep, cache=CacheUse("fbcache", {"threshold": thresholds[v.id]}),
        accelerators={"fbcache": {"threshold": thresholds[v.id]}, "compile": {"mode": modes[v.id]}})
        for v in kw["variants"]]
    sweeps = build_summary(**kw).telemetry.sweeps
    assert [(s.param, dict(s.with_), [p.variant for p in s.points]) for s in sweeps] == [
        ("threshold", {"compile": {"mode": "a"}}, ["fbc-0.05", "fbc-0.2"]),
        ("threshold", {"compile": {"mode": "b"}}, ["fbc-0.1", "fbc-0.3"])]


def test_unswept_caches_are_points_without_a_parameter() -> None:
    """Two tables with one threshold each: nothing swept, so no sweep is invented."""
    kw = synthetic_kwargs(thresholds=(0.05, 0.1), drops=(0.0, 0.1), noise=False)
    kw["variants"] = [replace(v, group=v.name, sweep=()) for v in kw["variants"]]
    s = build_summary(**kw)
    assert [(sw.group, sw.param, len(sw.points)) for sw in s.telemetry.sweeps] == [
        ("fbc-0.05", None, 1), ("fbc-0.1", None, 1)]
