"""Trace prediction and calibration maths on synthetic traces with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reports.calibration import fit_polynomial, fit_teacache, magcache_ratios, toml_list
from reports.traces import (
    ImageTrace,
    magcache_pattern,
    nearest_interp,
    predict,
    predict_image,
    threshold_for_speedup,
)


def _pairwise(steps: int, rate: float) -> tuple:
    """rel[t][s] = rate * (t - s): the residual drifts steadily."""
    return tuple(tuple(rate * (t - s) for s in range(t)) for t in range(steps))


def _trace(steps: int = 10, rate: float = 0.04, **signals) -> ImageTrace:
    base = {"first_block": _pairwise(steps, rate), "fn2": _pairwise(steps, rate / 2),
            "modulated": (math.nan,) + (0.1,) * (steps - 1), "output": (math.nan,) + (0.2,) * (steps - 1),
            "mag_ratio": (1.0,) + (0.98,) * (steps - 1)}
    return ImageTrace("p0", 0, steps, 20, {**base, **signals})


def test_fbcache_compares_with_last_computed_step() -> None:
    tr = _trace()
    # 0.04 per step: with 0.05, one step's change (0.04) skips, two steps' (0.08) compute.
    p = predict_image(tr, "fbcache", {"threshold": 0.05})
    assert p.computed == (True, False, True, False, True, False, True, False, True, False)
    assert p.first_skip == 1 and p.skip_rate == 0.5
    assert math.isclose(p.speedup, 10 / (5 + 5 / 20))
    assert predict_image(tr, "fbcache", {"threshold": 0.0}).skipped == 0
    assert predict_image(tr, "fbcache", {"threshold": 0.04}).skipped == 5  # diffusers: compute iff diff > t


def test_para_attn_strict_comparison_and_warmup() -> None:
    tr = _trace()
    assert predict_image(tr, "para_attn", {"residual_diff_threshold": 0.04}).skipped == 0  # skip iff diff < t
    p = predict_image(tr, "para_attn", {"residual_diff_threshold": 0.05, "warmup_steps": 3})
    assert p.computed[:3] == (True, True, True) and p.first_skip == 3  # steps 0-2 warm up


def test_cache_dit_warmup_limits_and_partial_work() -> None:
    tr = _trace()
    p = predict_image(tr, "cache_dit", {"Fn_compute_blocks": 2, "Bn_compute_blocks": 2,
                                        "residual_diff_threshold": 0.05, "max_warmup_steps": 2})
    # fn2 drifts 0.02 per step: two steps skip (0.02, 0.04), the third (0.06) computes.
    assert p.computed == (True, True, False, False, True, False, False, True, False, False)
    assert p.partial == 4 / 20
    capped = predict_image(tr, "cache_dit", {"Fn_compute_blocks": 2, "residual_diff_threshold": 0.05,
                                             "max_warmup_steps": 2, "max_cached_steps": 2})
    assert capped.skipped == 2
    run1 = predict_image(tr, "cache_dit", {"Fn_compute_blocks": 2, "residual_diff_threshold": 0.05,
                                           "max_warmup_steps": 2, "max_continuous_cached_steps": 1})
    assert "FF" not in "".join("T" if c else "F" for c in run1.computed)
    with pytest.raises(KeyError):
        predict_image(tr, "cache_dit", {"Fn_compute_blocks": 8})  # no fn8 signal traced


def test_teacache_accumulates_and_keeps_first_and_last() -> None:
    tr = _trace()
    identity = (1.0, 0.0)  # rescale(x) = x: each step adds 0.1
    p = predict_image(tr, "teacache", {"threshold": 0.25, "coefficients": identity})
    # acc 0.1 skip, 0.2 skip, 0.3 compute (reset), ... ; the last step always computes
    assert p.computed == (True, False, False, True, False, False, True, False, False, True)
    assert p.speedup == 10 / 4
    assert predict_image(tr, "teacache", {"threshold": 0.05, "coefficients": identity}).skipped == 0


def test_magcache_rule_matches_hand_computation() -> None:
    ratios = [1.0, 1.0, 0.99, 0.99, 0.99, 0.9, 1.0, 1.0]
    p = magcache_pattern(ratios, 8, threshold=0.03, max_skip_steps=2, retention_ratio=0.25)
    # retention int(0.25*8+0.5)=2: steps 0,1 compute. t2: r=.99 err=.01 skip; t3: r=.9801
    # err=.0299 skip; t4: k=3 > 2 -> compute, reset; t5: r=.9 err=.1 -> compute; t6: r=1 err=0
    # skip; t7: err 0 skip.
    assert p == (True, True, False, False, True, True, False, False)
    assert magcache_pattern(ratios, 8, threshold=0.0, max_skip_steps=2, retention_ratio=0.0) == (True,) * 8
    tr = _trace(steps=8, mag_ratio=tuple(ratios))
    params = {"threshold": 0.03, "max_skip_steps": 2, "retention_ratio": 0.25}
    via = predict_image(tr, "magcache", {**params, "mag_ratios": tr.signals["mag_ratio"]})
    assert via.computed == p
    assert predict_image(tr, "magcache", {**params, "calibrate": True}).skipped == 0
    with pytest.raises(ValueError, match="ratio table"):
        predict_image(tr, "magcache", params)
    table = predict_image(tr, "magcache", {"threshold": 0.03, "max_skip_steps": 2, "retention_ratio": 0.25,
                                           "mag_ratios": [1.0] * 4})
    assert table.computed == (True, True, False, False, True, False, False, True)
    assert nearest_interp([1, 2, 3, 4, 5], 3) == (1.0, 3.0, 5.0) and nearest_interp([1, 2], 1) == (2.0,)


def test_predict_pools_images() -> None:
    a, b = _trace(), _trace(rate=0.2)
    pr = predict([a, b], "fbcache", {"threshold": 0.05})
    assert pr.n_images == 2 and pr.skip_rate == 5 / 20
    with pytest.raises(ValueError, match="no trace model"):
        predict([a], "torchao", {})


def test_threshold_for_speedup_finds_smallest() -> None:
    tr = [_trace()]
    t = threshold_for_speedup(tr, "fbcache", {}, target=1.9, hi=0.5)
    assert t is not None and math.isclose(t, 0.04, abs_tol=1e-6)  # skips start just above 0.04
    assert predict(tr, "fbcache", {"threshold": t}).speedup >= 1.9
    assert threshold_for_speedup(tr, "fbcache", {}, target=50.0, hi=0.5) is None


def test_teacache_refit_recovers_known_polynomial() -> None:
    known = (300.0, -150.0, 30.0, -1.5, 0.1)
    rng = np.random.default_rng(0)
    traces = []
    for i in range(6):
        x = rng.uniform(0.02, 0.3, 20)
        y = np.polyval(known, x) * (1 + rng.normal(0, 1e-4, x.size))
        traces.append(ImageTrace(f"p{i}", 0, 21, 10, {"modulated": (math.nan, *x), "output": (math.nan, *y)}))
    fit = fit_teacache(traces)
    assert fit.n_points == 120 and fit.r2 > 0.9999
    np.testing.assert_allclose(fit.coefficients, known, rtol=0.05, atol=0.02)
    assert fit.x_range[0] >= 0.02 and fit.x_range[1] <= 0.3
    with pytest.raises(ValueError, match="needs more than"):
        fit_polynomial([0.1, 0.2], [1.0, 2.0])


def test_r2_is_low_for_noise() -> None:
    rng = np.random.default_rng(1)
    fit = fit_polynomial(rng.uniform(0, 1, 200), rng.normal(0, 1, 200), degree=1)
    assert fit.r2 < 0.1


def test_magcache_ratios_average_and_toml() -> None:
    a = _trace(steps=4, mag_ratio=(1.0, 0.9, 1.1, 1.0))
    b = _trace(steps=4, mag_ratio=(1.0, 1.1, 0.9, 1.2))
    assert np.allclose(magcache_ratios([a, b]), (1.0, 1.0, 1.0, 1.1))
    with pytest.raises(ValueError, match="different step counts"):
        magcache_ratios([a, _trace(steps=5)])
    assert toml_list((1.0, 0.98765432)) == "[1, 0.987654]"
