"""Fitting, judging and transferring a calibration on synthetic traces (no model; issue 21 §1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reports.calibrate_fit import calibrate_cache, check_skips, r_squared, stability, threshold_for_skip
from reports.calibrate_transfer import transfer_check
from reports.traces import ImageTrace, predict

STEPS = 10
TRUE_POLY = (0.0, 0.0, 2.0, 0.5, 0.01)  # output change = 2 x^2 + 0.5 x + 0.01


def _traces(n_prompts: int, noise: float, seed: int = 0, steps: int = STEPS,
            ratios: tuple[float, ...] | None = None, mag_noise: float = 0.0) -> list[ImageTrace]:
    """Images whose output change follows TRUE_POLY of the input change, plus noise; MagCache
    ratios that drift away from 1 along the steps (or ``ratios``), plus noise."""
    rng = np.random.default_rng(seed)
    out = []
    table = ratios or tuple(1.0 - 0.01 * t for t in range(steps))
    for p in range(n_prompts):
        x = rng.uniform(0.02, 0.2, steps)
        y = np.polyval(TRUE_POLY, x) * (1 + noise * rng.standard_normal(steps))
        mag = [1.0, *(table[t] + mag_noise * rng.standard_normal() for t in range(1, steps))]
        out.append(ImageTrace(f"p{p}", 0, steps, 8, {
            "modulated": (math.nan, *x[1:]), "output": (math.nan, *y[1:]), "mag_ratio": tuple(mag)}))
    return out


def test_a_clean_relation_is_fitted_trusted_and_settles_early() -> None:
    traces = _traces(12, noise=0.01)
    fit = calibrate_cache("teacache", traces[:8], traces[8:], {"threshold": 0.4}, 0.8, (0.25, 0.5))
    assert fit.trusted and fit.verdict.startswith("trusted")
    assert fit.r2 is not None and fit.r2.lo is not None and fit.r2.lo > 0.95 and fit.r2.n_prompts == 4
    assert fit.r2.lo <= fit.r2.value <= fit.r2.hi
    assert fit.stability is not None and fit.stability.settled_at == 2
    assert len(fit.params["coefficients"]) == 5
    assert [c.target for c in fit.checks] == [0.25, 0.5]
    rates = [p.skip_rate for p in fit.curve]
    assert rates == sorted(rates) and rates[0] > 0


def test_a_noisy_relation_is_too_poor_to_trust() -> None:
    traces = _traces(12, noise=2.0)
    fit = calibrate_cache("teacache", traces[:8], traces[8:], {"threshold": 0.4}, 0.8, (0.5,))
    assert not fit.trusted and fit.verdict.startswith("too poor to trust: held-out R²")
    assert fit.r2 is not None and fit.r2.pessimistic < 0.8


def test_stability_reports_the_point_from_which_the_fit_stays_put() -> None:
    traces = _traces(40, noise=0.6, seed=3)
    stab = stability("teacache", traces[:32], traces[32:], tolerance=0.05)
    assert stab.n_prompts == (2, 4, 8, 16, 32)
    assert stab.change[-1] == 0.0  # the full fit against itself
    if stab.settled_at is not None:  # every change from there on is within the tolerance
        i = stab.n_prompts.index(stab.settled_at)
        assert all(c <= 0.05 for c in stab.change[i:]) and (i == 0 or stab.change[i - 1] > 0.05)
    assert "prompts" in stab.text()


def test_magcache_r2_is_taken_against_ratio_one() -> None:
    table = tuple(1.0 - 0.02 * t for t in range(STEPS))
    traces = _traces(6, noise=0.0, ratios=table, mag_noise=0.001)
    assert r_squared("magcache", traces, table) > 0.99
    assert r_squared("magcache", traces, (1.0,) * STEPS) == pytest.approx(0.0)  # explains none of it
    fit = calibrate_cache("magcache", traces[:4], traces[4:], {"threshold": 0.06, "max_skip_steps": 3,
                                                               "retention_ratio": 0.2}, 0.8, (0.25,))
    assert fit.trusted and fit.params["mag_ratios"][0] == 1.0 and len(fit.params["mag_ratios"]) == STEPS


def test_a_check_compares_predicted_and_measured_skips_per_image() -> None:
    traces = _traces(6, noise=0.0)
    coeffs = list(TRUE_POLY)
    threshold = threshold_for_skip(traces, "teacache", {"coefficients": coeffs}, 0.3)
    assert threshold is not None
    params = {"coefficients": coeffs, "threshold": threshold}
    predicted = {(t.prompt_id, t.seed): predict([t], "teacache", params).patterns[0].skipped for t in traces}
    measured = dict(predicted)
    measured[("p0", 0)] += 1  # one image skipped one more step than predicted
    check = check_skips(traces, "teacache", {"coefficients": coeffs}, threshold, 0.3, measured)
    assert check.agreement == pytest.approx(5 / 6)
    assert check.measured is not None and check.measured.value > check.predicted.value
    assert check_skips(traces, "teacache", {"coefficients": coeffs}, threshold, 0.3).measured is None


def test_a_table_made_at_other_steps_does_not_transfer_and_a_polynomial_does() -> None:
    base = _traces(8, noise=0.01)
    mag = calibrate_cache("magcache", base[:6], base[6:], {"threshold": 0.06, "max_skip_steps": 3,
                                                           "retention_ratio": 0.2}, 0.8, (0.25,))
    tea = calibrate_cache("teacache", base[:6], base[6:], {"threshold": 0.4}, 0.8, (0.25,))
    # At 20 steps the ratios bend the other way: the 10-step table, resampled, fits badly.
    other = _traces(8, noise=0.01, seed=5, steps=20, ratios=tuple(1.0 + 0.01 * t for t in range(20)))
    bad = transfer_check({"steps": 20}, "transformer", mag, base, other, 0.8)
    assert not bad.serves and "does not transfer" in bad.verdict and bad.r2 is not None and bad.r2 < 0.8
    assert bad.refit_r2 is not None and bad.refit_r2 > 0.8
    good = transfer_check({"steps": 20}, "transformer", tea, base, other, 0.8)
    assert good.serves and good.r2 is not None and good.r2 > 0.95, good.verdict


def test_stability_starts_where_the_first_prompts_give_a_fit() -> None:
    traces = _traces(8, noise=0.01, steps=3)  # two points per image, as a Wan 2.2 expert at 8 steps
    stab = stability("teacache", traces[:6], traces[6:])
    assert stab.n_prompts == (4, 6)  # 2 prompts have 4 points: too few for a degree-4 polynomial
