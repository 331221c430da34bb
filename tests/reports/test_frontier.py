"""The fewer-steps frontier on synthetic data: step-count rule, partner choice, verdicts."""

from __future__ import annotations

import math

import numpy as np

from reports.frontier import (
    BETTER,
    NO_BETTER,
    WORSE,
    CurvePoint,
    FrontierPoint,
    frontier_steps,
    frontier_verdict,
    overall,
    partner_for,
    reference_curve,
    reference_values,
)
from reports.metric_info import MetricInfo

PER_IMAGE = MetricInfo(True, "per-image")
LPIPS = MetricInfo(False, "paired", 0.0)
SET = MetricInfo(False, "set", 0.0)
POINTS = [FrontierPoint("baseline", 28, 10.0), FrontierPoint("steps-22", 22, 8.0),
          FrontierPoint("steps-14", 14, 5.2), FrontierPoint("steps-9", 9, 3.5)]


def _values(offset: float, n_prompts: int = 16, seed: int = 0) -> dict:
    """Per-image values with a large prompt effect shared by every variant (seeded)."""
    rng = np.random.default_rng(seed)
    prompt = np.random.default_rng(99).normal(0, 2.0, n_prompts)
    return {(f"p{i}", s): float(prompt[i] + offset + rng.normal(0, 0.01))
            for i in range(n_prompts) for s in (0, 1)}


def test_frontier_steps_rule() -> None:
    assert frontier_steps(28) == (22, 19, 14, 11, 9)
    assert frontier_steps(12) == (10, 8, 6, 5, 4)
    assert frontier_steps(4, (1.5, 2.0, 100.0)) == (3, 2, 1)
    assert frontier_steps(1) == ()
    assert frontier_steps(10, (0.5, 1.0)) == ()  # speedups <= 1 add nothing


def test_partner_is_most_steps_no_slower() -> None:
    assert partner_for(6.0, POINTS).name == "steps-14"
    assert partner_for(5.2, POINTS).name == "steps-14"  # equal latency fits
    assert partner_for(12.0, POINTS).name == "baseline"
    assert partner_for(3.0, POINTS) is None
    noisy = [FrontierPoint("a", 10, 4.0), FrontierPoint("b", 9, 4.1)]  # noise inverted them
    assert partner_for(4.5, noisy).name == "a"


def test_verdicts_better_no_better_worse() -> None:
    partner = _values(0.0)
    point_values = {"steps-14": {"q": partner}}
    for offset, expected in ((0.3, BETTER), (0.0, NO_BETTER), (-0.3, WORSE)):
        v = frontier_verdict("fbc", 6.0, POINTS, {"q": _values(offset, seed=1)}, point_values,
                             {"q": PER_IMAGE})
        assert v.partner == "steps-14" and v.partner_steps == 14 and v.partner_latency_s == 5.2
        assert v.verdict == expected, (offset, v)
        m = v.metrics["q"]
        assert m.n_pairs == 32 and m.ci is not None and m.ci[0] <= m.delta <= m.ci[1]
        assert math.isclose(m.delta, offset, abs_tol=0.02)
    d = v.to_dict()
    assert d["metrics"]["q"]["verdict"] == WORSE and d["method"].startswith("nearest step count")


def test_lower_is_better_metric_and_set_metrics_skipped() -> None:
    partner = {k: 0.3 for k in _values(0.0)}
    cache = {k: 0.1 + 0.001 * i for i, k in enumerate(partner)}  # lower LPIPS: better
    v = frontier_verdict("fbc", 6.0, POINTS, {"lpips": cache, "cmmd": {}},
                         {"steps-14": {"lpips": partner}}, {"lpips": LPIPS, "cmmd": SET})
    assert list(v.metrics) == ["lpips"]
    assert v.verdict == BETTER


def test_baseline_as_partner_uses_reference_values() -> None:
    keys = list(_values(0.0))
    ref = reference_values(LPIPS, keys)
    assert set(ref.values()) == {0.0}
    assert set(reference_values(MetricInfo(True, "paired"), keys).values()) == {math.inf}
    cache = {k: 0.2 + 0.01 * (i % 3) for i, k in enumerate(keys)}
    v = frontier_verdict("slow-cache", 11.0, POINTS, {"lpips": cache}, {"baseline": {"lpips": ref}},
                         {"lpips": LPIPS})
    assert v.partner == "baseline" and v.verdict == WORSE


def test_faster_than_every_point_needs_a_clear_win() -> None:
    base = _values(0.0)
    pv = {"steps-9": {"q": base}}
    worse = frontier_verdict("fast", 2.0, POINTS, {"q": _values(-0.5, seed=2)}, pv, {"q": PER_IMAGE})
    assert worse.partner == "steps-9" and worse.verdict is None and "fewest-steps" in worse.reason
    better = frontier_verdict("fast", 2.0, POINTS, {"q": _values(0.5, seed=2)}, pv, {"q": PER_IMAGE})
    assert better.verdict == BETTER
    empty = frontier_verdict("x", 2.0, [], {"q": base}, {}, {"q": PER_IMAGE})
    assert empty.verdict is None and empty.partner is None


def test_no_pairs_gives_no_verdict() -> None:
    v = frontier_verdict("fbc", 6.0, POINTS, {"q": {("p0", 0): 1.0}}, {"steps-14": {"q": {}}},
                         {"q": PER_IMAGE})
    assert v.verdict is None and v.metrics["q"].n_pairs == 0


def test_overall_rule() -> None:
    from reports.frontier import MetricComparison as M

    mk = lambda v: M("m", 0.0, (0.0, 0.0), 2, v)  # noqa: E731
    assert overall([mk(BETTER), mk(WORSE)]) == WORSE
    assert overall([mk(BETTER), mk(NO_BETTER), mk(None)]) == BETTER
    assert overall([mk(NO_BETTER)]) == NO_BETTER
    assert overall([mk(None)]) is None


def test_reference_curve_order() -> None:
    pts = [CurvePoint("b", 28, 10.0, 1.0), CurvePoint("s9", 9, 3.5, 0.2),
           CurvePoint("s14", 14, 5.0, math.nan), CurvePoint("s22", 22, 8.0, 0.9)]
    assert [p.name for p in reference_curve(pts)] == ["s9", "s22", "b"]
