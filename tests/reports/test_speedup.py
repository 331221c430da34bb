"""Speedup CIs, verdicts and the drift check on synthetic timings with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from reports.speedup import (
    DRIFT,
    FASTER,
    SAME,
    SLOWER,
    _weighted_medians,
    compare_latency,
    drift_check,
    drift_record,
    no_credible_gain,
    speedup_entry,
    speedup_verdict,
)


def timings(scale: float, *, prompts: int = 16, seeds: int = 2, noise: float = 0.03,
            rng_seed: int = 1) -> dict[tuple[str, int], float]:
    """Latencies around ``scale`` seconds with multiplicative noise, per (prompt, seed)."""
    rng = np.random.default_rng(rng_seed)
    return {(f"p{i}", s): float(scale * np.exp(rng.normal(0.0, noise)))
            for i in range(prompts) for s in range(seeds)}


def test_weighted_median_matches_numpy_for_unit_weights() -> None:
    for n in (1, 2, 5, 8):
        values = np.random.default_rng(n).normal(size=n)
        assert _weighted_medians(values, np.ones((1, n)))[0] == pytest.approx(np.median(values))


def test_inert_variant_is_indistinguishable_from_1x() -> None:
    base, inert = timings(2.0, rng_seed=1), timings(2.0, rng_seed=2)  # same distribution
    cmp = compare_latency(inert, base)
    assert cmp.speedup.estimate == pytest.approx(np.median(list(base.values()))
                                                 / np.median(list(inert.values())))
    assert cmp.speedup.lo < 1.0 < cmp.speedup.hi
    assert cmp.delta_s.lo < 0.0 < cmp.delta_s.hi
    assert speedup_verdict(cmp.speedup) == SAME
    entry = speedup_entry(inert, base, is_baseline=False)
    assert entry.verdict == SAME and entry.n_pairs == 32
    assert "indistinguishable from 1x" in no_credible_gain(entry)


def test_real_speedup_is_faster_and_slowdown_is_slower() -> None:
    base = timings(2.0, rng_seed=1)
    fast = speedup_entry(timings(2.0 / 1.5, rng_seed=3), base, is_baseline=False)
    assert fast.verdict == FASTER and fast.ci[0] > 1.3 and fast.delta_ci[1] < 0
    assert no_credible_gain(fast) is None
    assert no_credible_gain(fast, gpu_ratio=1 / 4) is not None  # 4 GPUs for 1.5x costs more
    slow = speedup_entry(timings(2.4, rng_seed=4), base, is_baseline=False)
    assert slow.verdict == SLOWER and "slower" in no_credible_gain(slow)


def test_known_drift_is_flagged_and_caps_small_speedups() -> None:
    start = timings(2.0, prompts=4, seeds=1, noise=0.01, rng_seed=5)
    drifted = {k: v * 1.08 for k, v in timings(2.0, prompts=4, seeds=1, noise=0.01, rng_seed=6).items()}
    d = drift_check(start, drifted)
    assert d.flagged and d.ratio.estimate == pytest.approx(1.08, rel=0.03)
    assert d.floor is not None and d.floor >= d.ratio.estimate
    steady = drift_check(start, timings(2.0, prompts=4, seeds=1, noise=0.01, rng_seed=7))
    assert not steady.flagged
    record = drift_record(start, drifted)
    assert record.flagged and record.n == 4 and record.ci[0] > 1.0 and record.reason is None
    # A 5% speedup that is significant on its own is no more than the machine drifted.
    base = timings(2.0, noise=0.005, rng_seed=8)
    small = speedup_entry(timings(2.0 / 1.05, noise=0.005, rng_seed=9), base, is_baseline=False,
                          drift_floor=d.floor)
    assert small.verdict == DRIFT and "drift" in no_credible_gain(small)


def test_missing_and_failed_timings_are_left_out() -> None:
    base = {("a", 0): 1.0, ("b", 0): 1.0, ("c", 0): None}
    var = {("a", 0): 0.5, ("b", 0): float("nan"), ("c", 0): 0.5}
    one = compare_latency(var, base)
    assert one.speedup.estimate == 2.0 and one.speedup.ci is None and one.speedup.n == 1
    assert speedup_verdict(one.speedup) is None
    assert compare_latency({}, base).speedup.estimate is None
    assert "cannot be told" in no_credible_gain(speedup_entry(var, base, is_baseline=False))


def test_recommend_rejects_a_speedup_inside_the_noise_and_summary_flags_drift() -> None:
    from dataclasses import replace

    from reports.recommend import recommend
    from reports.records import Budget
    from reports.summary import build_summary
    from tests.reports._synthetic import synthetic_kwargs

    kw = synthetic_kwargs(drops=(0.0, 0.0, 0.0), noise=False)
    base = [s for s in kw["samples"] if s.variant_id == "v-base"]
    shuffled = base[1:] + base[:1]  # the baseline's own timings, on other keys: no real effect
    timed = {(s.prompt_id, s.seed): t.latency_s - 0.001 for s, t in zip(base, shuffled, strict=True)}
    samples = []
    for s in kw["samples"]:
        if s.variant_id == "v-0":
            s = replace(s, latency_s=timed[(s.prompt_id, s.seed)])
        elif s.variant_id != "v-base":
            s = replace(s, latency_s=12.0)  # slower than the baseline
        samples.append(s)
    drift = [replace(s, latency_s=s.latency_s * 1.2) for s in base[:4]]
    summary = build_summary(**{**kw, "samples": samples, "drift_samples": drift})
    inert = summary.variant("fbc-0.05")
    assert inert.latency_s.p50 < summary.base.latency_s.p50  # looks faster on its p50 ...
    assert inert.speedup.verdict == SAME  # ... but its CI says no
    assert summary.drift.flagged and summary.drift.n == 4 and summary.drift.ratio == pytest.approx(1.2)
    rec = recommend(summary, [Budget("quality", "max_drop", 1.0)])
    assert rec.variant == "baseline"
    assert any(r.variant == "fbc-0.05" and "indistinguishable from 1x" in r.reason for r in rec.rejected)
