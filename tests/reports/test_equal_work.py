"""The equal-work band model on hand-made variants: known skip rates, known quality."""

from __future__ import annotations

import math

from reports.equal_work import (
    CANDIDATE_BUG,
    OUTLIER,
    band_at,
    curve_range,
    equal_work,
    from_error,
    to_error,
)
from reports.metric_info import MetricInfo
from reports.records import CacheUse
from reports.summary_records import MetricEntry, SampleCounts, Steps, VariantResult

PSNR = MetricInfo(True, "paired", None, perfect=100.0)
SSIM = MetricInfo(True, "paired", 1.0)
SHARP = MetricInfo(True, "per-image", None)
METRICS = {"psnr": PSNR, "ssim": SSIM, "sharpness": SHARP}


def variant(name: str, cache: str | None, skip: float, psnr: float, half: float = 0.3) -> VariantResult:
    """A cache variant at ``skip`` with PSNR ``psnr`` +/- ``half`` and a matching SSIM."""
    ssim = 1 - 10 ** (-psnr / 20)  # any monotone stand-in
    computed, skipped = round(100 * (1 - skip)), round(100 * skip)
    return VariantResult(
        name=name, id=name, status="ok", error=None, accelerators={}, is_baseline=cache is None,
        samples=SampleCounts(4, 4, 0, 0), latency_s=None, gpus_per_image=1, cost_per_image_usd=None,
        images_per_usd=None, steps=Steps(computed, skipped, skip),
        cache=CacheUse(cache, {}) if cache else None,
        metrics={"psnr": MetricEntry(psnr, (psnr - half, psnr + half)),
                 "ssim": MetricEntry(ssim, (ssim - 1e-6, min(1.0, ssim + 1e-6))),
                 "sharpness": MetricEntry(1.0, (0.9, 1.1), delta_vs_baseline=0.5, delta_ci=(0.4, 0.6))})


def sweep(cache: str, points: list[tuple[float, float]]) -> list[VariantResult]:
    return [variant(f"{cache}-{i}", cache, s, q) for i, (s, q) in enumerate(points)]


REAL = [variant("baseline", None, 0.0, 100.0),
        *sweep("fbcache", [(0.3, 60.0), (0.6, 55.0), (0.9, 50.0)]),
        *sweep("cache_dit", [(0.3, 60.5), (0.6, 54.5), (0.9, 50.5)]),
        *sweep("teacache", [(0.4, 59.0), (0.7, 54.0)])]


def test_error_scale_round_trips_and_orders_worse_as_larger() -> None:
    for info, good, bad in ((PSNR, 60.0, 40.0), (SSIM, 0.999, 0.99)):
        assert to_error(bad, info) > to_error(good, info)
        assert math.isclose(from_error(to_error(good, info), info), good)
    # twice the MSE is 3 dB of PSNR: one log10(2) on the error scale
    assert math.isclose(to_error(57.0, PSNR) - to_error(60.0, PSNR), 0.3)


def test_curves_interpolate_within_their_range_only() -> None:
    curve = [(0.2, 1.0, 2.0), (0.6, 3.0, 4.0)]
    assert curve_range(curve, 0.35, 0.45) == (1.75, 3.25)
    assert curve_range(curve, 0.7, 0.8) is None  # never extrapolated
    assert band_at(0.8, {"a": curve}, window=0.05) is None
    assert band_at(0.6, {"a": curve, "b": [(0.6, 0.0, 5.0)]}) == (0.0, 5.0)


def test_real_implementations_at_similar_error_are_not_flagged() -> None:
    ew = equal_work(REAL, METRICS)
    assert ew is not None and not ew.outliers
    assert {p.variant for p in ew.points} == {v.name for v in REAL if v.cache}
    assert {c.metric for c in ew.checks} == {"psnr", "ssim"}  # fidelity metrics only


def test_a_cache_adding_far_more_error_at_equal_work_is_a_candidate_bug() -> None:
    broken = sweep("broken", [(0.6, 43.0), (0.9, 40.0)])
    ew = equal_work([*REAL, *broken], METRICS)
    assert ew is not None
    flagged = {(c.variant, c.metric) for c in ew.outliers}
    assert flagged == {(v.name, m) for v in broken for m in ("psnr", "ssim")}
    note = next(c.note for c in ew.outliers)
    assert OUTLIER in note and CANDIDATE_BUG in note and "worse" in note
    # the real ones are judged against a band that now includes the broken one: still fine
    assert not any(c.variant.startswith(("fbcache", "cache_dit", "teacache")) for c in ew.outliers)


def test_within_twice_the_error_is_not_an_outlier_and_far_better_is() -> None:
    near = sweep("magcache", [(0.6, 52.6)])  # 2.4 dB under the band's low bound: < 2x the MSE
    far_better = sweep("suspicious", [(0.6, 70.0)])  # an order of magnitude less error
    ew = equal_work([*REAL, *near, *far_better], METRICS)
    assert ew is not None
    assert {c.variant for c in ew.outliers} == {"suspicious-0"}
    assert {c.direction for c in ew.outliers} == {"better"}


def test_no_band_is_said_never_passed_silently() -> None:
    lonely = sweep("lonely", [(0.05, 80.0)])
    ew = equal_work([*REAL, *lonely], METRICS)
    assert ew is not None
    c = next(c for c in ew.checks if c.variant == "lonely-0" and c.metric == "psnr")
    assert c.band is None and not c.outlier and "no band" in (c.note or "")


def test_no_cache_variant_no_section() -> None:
    assert equal_work([REAL[0]], METRICS) is None


def test_an_endpoint_is_its_own_implementation_and_without_telemetry_its_skip_rate_is_unknown() -> None:
    from dataclasses import replace

    from reports.records import EndpointStats

    stats = EndpointStats("openai-images", "http://engine")
    served = replace(variant("engine", None, 0.0, 43.0), is_baseline=False, endpoint=stats,
                     steps=Steps(0, 0, None))
    measured = replace(variant("engine-2", None, 0.6, 43.0), is_baseline=False, endpoint=stats)
    ew = equal_work([*REAL, served, measured], METRICS)
    assert ew is not None
    unknown = next(p for p in ew.points if p.variant == "engine")
    assert unknown.skip_rate is None and "skip rate unknown" in (unknown.reason or "")
    assert unknown.implementation == "endpoint:engine"
    # an engine that reports its steps is held to the local implementations' band
    assert {c.variant for c in ew.outliers} == {"engine-2"}


def test_servers_are_held_to_the_local_band_and_never_vouch_for_each_other() -> None:
    from dataclasses import replace

    from reports.records import EndpointStats

    stats = EndpointStats("openai-images", "http://engine")
    # Two servers with the same bug, at the same work: each would sit in the other's band.
    one = replace(variant("engine-a", None, 0.6, 43.0), is_baseline=False, endpoint=stats)
    two = replace(variant("engine-b", None, 0.6, 43.0), is_baseline=False, endpoint=stats)
    ew = equal_work([*REAL, one, two], METRICS)
    assert ew is not None and {c.variant for c in ew.outliers} == {"engine-a", "engine-b"}
    # and a sound server at the same work is not flagged, nor does a bad one move local bands
    sound = replace(REAL[2], name="engine-c", id="engine-c", endpoint=stats, cache=None)
    ew = equal_work([*REAL, one, sound], METRICS)
    assert ew is not None and {c.variant for c in ew.outliers} == {"engine-a"}
    # a local implementation found an outlier makes no band either: the same bug served is flagged
    local_bug = variant("broken-0", "broken_fbcache", 0.6, 43.0)
    ew = equal_work([*REAL, local_bug, one], METRICS)
    assert ew is not None and {c.variant for c in ew.outliers} == {"broken-0", "engine-a"}
