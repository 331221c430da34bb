"""Fitting a cache's per-model numbers on baseline traces, with how far to trust them.

Pure functions over :class:`reports.traces.ImageTrace` (no I/O; issue 21 §1). The traced
prompts are split: the fit sees the first ones, the quality figures are taken on the rest.

* TeaCache: the rescale polynomial (``reports.calibration.fit_teacache``). Quality: R² of the
  output's relative change predicted from the modulated input's, on the held-out images.
* MagCache: the mean magnitude ratio per step (``reports.calibration.magcache_ratios``).
  Quality: R² of each held-out image's ratios predicted by the table, measured against ratio
  1, not against the ratios' mean: MagCache's error is ``|1 - ratio|``, so what matters is how
  much of each step's distance from 1 the table accounts for.
* Every modelled cache (FBCache, ParaAttention, cache-dit DBCache too): the threshold ->
  predicted skip-rate curve, and thresholds placed at target skip rates for the caller to
  measure on the held-out prompts (:func:`check_skips`).

Intervals resample prompts (all seeds of a prompt together), 2000 times, seed 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reports.bootstrap import cluster_bootstrap
from reports.calibrate_records import CacheFit, CurvePoint, Estimate, SkipCheck, Stability
from reports.calibration import fit_teacache, magcache_ratios
from reports.traces import THRESHOLD_PARAM, ImageTrace, nearest_interp, predict, predict_image

FITTED = {"teacache": "coefficients", "magcache": "mag_ratios"}  # cache -> the parameter fitted
MIN_FIT_PROMPTS = 2  # a degree-4 polynomial over 2 images of >= 4 steps has >= 6 points
MIN_HOLDOUT_PROMPTS = 2  # an interval over prompts needs two of them
STABILITY_TOLERANCE = 0.05
N_BOOT = 2000


def by_prompt(traces: Sequence[ImageTrace]) -> list[list[ImageTrace]]:
    """Traces grouped by prompt, in first-seen order."""
    groups: dict[str, list[ImageTrace]] = {}
    for t in traces:
        groups.setdefault(t.prompt_id, []).append(t)
    return list(groups.values())


def _pairs(cache: str, traces: Sequence[ImageTrace],
           numbers: Sequence[float]) -> tuple[list[float], list[float], float | None]:
    """(measured, predicted) per step of ``traces`` under the fitted ``numbers``, and the R²'s
    reference value (None: the measured values' mean)."""
    from reports.traces import polyval

    y: list[float] = []
    p: list[float] = []
    for t in traces:
        if cache == "teacache":
            for x, out in zip(t.signals["modulated"][1:], t.signals["output"][1:], strict=True):
                if math.isfinite(x) and math.isfinite(out):
                    y.append(out)
                    p.append(polyval(numbers, x))
        else:
            table = nearest_interp(numbers, t.steps)
            for step in range(1, t.steps):  # step 0's ratio is 1 by definition
                y.append(t.signals["mag_ratio"][step])
                p.append(table[step])
    return y, p, None if cache == "teacache" else 1.0


def r_squared(cache: str, traces: Sequence[ImageTrace], numbers: Sequence[float]) -> float | None:
    """R² of ``numbers`` on ``traces`` (see the module docstring for each cache's target)."""
    import numpy as np

    y, p, ref = _pairs(cache, traces, numbers)
    if len(y) < 2:
        return None
    ya, pa = np.asarray(y), np.asarray(p)
    total = float(((ya - (ya.mean() if ref is None else ref)) ** 2).sum())
    return 1.0 - float(((ya - pa) ** 2).sum()) / total if total > 0 else None


def r2_estimate(cache: str, traces: Sequence[ImageTrace], numbers: Sequence[float],
                seed: int = 0) -> Estimate | None:
    """Held-out R² with a bootstrap interval that resamples prompts."""
    import numpy as np

    point = r_squared(cache, traces, numbers)
    if point is None:
        return None
    groups = by_prompt(traces)
    if len(groups) < 2:
        return Estimate(point, None, None, len(groups))
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(N_BOOT):
        pick = [t for i in rng.integers(0, len(groups), len(groups)) for t in groups[i]]
        if (value := r_squared(cache, pick, numbers)) is not None:
            stats.append(value)
    lo, hi = np.percentile(stats, [2.5, 97.5]) if stats else (None, None)
    return Estimate(point, None if lo is None else float(lo), None if hi is None else float(hi), len(groups))


def fit_numbers(cache: str, traces: Sequence[ImageTrace]) -> tuple[float, ...]:
    """The fitted parameter of ``cache`` (TeaCache's coefficients, MagCache's ratios).

    Raises:
        KeyError, ValueError: the traces cannot give it (signals missing, too few points).
    """
    if cache == "teacache":
        return fit_teacache(traces).coefficients
    return magcache_ratios(traces)


def _change(cache: str, numbers: Sequence[float], full: Sequence[float],
            traces: Sequence[ImageTrace]) -> float:
    """How far ``numbers`` are from ``full``, relative: on the held-out inputs for a polynomial,
    per step against the distance from ratio 1 for MagCache."""
    import numpy as np

    _, a, _ = _pairs(cache, traces, numbers)
    _, b, _ = _pairs(cache, traces, full)
    a_, b_ = np.asarray(a), np.asarray(b)
    scale = np.abs(b_).mean() if cache == "teacache" else np.abs(1.0 - b_).mean()
    return float(np.abs(a_ - b_).mean() / scale) if scale > 0 else 0.0


def stability(cache: str, fit: Sequence[ImageTrace], holdout: Sequence[ImageTrace],
              tolerance: float = STABILITY_TOLERANCE) -> Stability:
    """Refit on the first 2, 4, 8, ... (and 50) fit prompts; each fit's change and held-out R²."""
    groups = by_prompt(fit)
    sizes = sorted({n for n in (*(2**k for k in range(1, 12)), 50) if MIN_FIT_PROMPTS <= n < len(groups)}
                   | {len(groups)})
    full = fit_numbers(cache, fit)
    changes, r2s, fitted = [], [], []
    for n in sizes:
        try:
            numbers = fit_numbers(cache, [t for g in groups[:n] for t in g])
        except ValueError:  # too few points yet (few steps per image: a Wan 2.2 expert)
            continue
        fitted.append(n)
        changes.append(_change(cache, numbers, full, holdout))
        r2s.append(r_squared(cache, holdout, numbers))
    sizes = fitted
    settled = None
    for i in range(len(sizes) - 1, -1, -1):
        if changes[i] > tolerance:
            break
        settled = sizes[i]
    return Stability(tuple(sizes), tuple(changes), tuple(r2s), tolerance, settled)


def skip_curve(traces: Sequence[ImageTrace], cache: str, params: Mapping[str, Any],
               rates: Sequence[float] = tuple(k / 10 for k in range(1, 10))) -> tuple[CurvePoint, ...]:
    """The smallest threshold reaching each predicted skip rate in ``rates`` (those reachable)."""
    key, out = THRESHOLD_PARAM[cache], []
    for rate in rates:
        threshold = threshold_for_skip(traces, cache, params, rate)
        if threshold is None:
            break
        pred = predict(traces, cache, {**params, key: threshold})
        if not out or threshold > out[-1].threshold:
            out.append(CurvePoint(threshold, pred.skip_rate, pred.speedup))
    return tuple(out)


def threshold_for_skip(traces: Sequence[ImageTrace], cache: str, params: Mapping[str, Any],
                       target: float, iterations: int = 40) -> float | None:
    """The smallest threshold whose predicted skip rate reaches ``target`` (bisection), or None."""
    key = THRESHOLD_PARAM[cache]
    rate: Callable[[float], float] = lambda x: predict(traces, cache, {**params, key: x}).skip_rate  # noqa: E731
    hi = 1e-3
    while rate(hi) < target:
        hi *= 2
        if hi > 1e3:
            return None
    lo = 0.0
    for _ in range(iterations):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if rate(mid) >= target else (mid, hi)
    # Rounded up to 4 significant digits (a readable number that still reaches the target).
    unit = 10 ** (math.floor(math.log10(hi)) - 3)
    up = float(f"{math.ceil(hi / unit) * unit:.4g}")
    return up if rate(up) >= target else hi


def per_image_skips(traces: Sequence[ImageTrace], cache: str,
                    params: Mapping[str, Any]) -> dict[tuple[str, int], int]:
    """(prompt id, seed) -> skipped steps the traces predict."""
    return {(t.prompt_id, t.seed): predict_image(t, cache, params).skipped for t in traces}


def check_skips(holdout: Sequence[ImageTrace], cache: str, params: Mapping[str, Any], threshold: float,
                target: float, measured: Mapping[tuple[str, int], int] | None = None) -> SkipCheck:
    """Predicted (and, given ``measured`` skipped steps per image, measured) skip rate at
    ``threshold`` on the held-out images, each with its interval over prompts."""
    full = {**params, THRESHOLD_PARAM[cache]: threshold}
    predicted = per_image_skips(holdout, cache, full)
    steps = {(t.prompt_id, t.seed): t.steps for t in holdout}
    pred = _rate(predicted, steps)
    if measured is None:
        return SkipCheck(threshold, target, pred)
    seen = [k for k in predicted if k in measured]
    agree = sum(predicted[k] == measured[k] for k in seen) / len(seen) if seen else None
    return SkipCheck(threshold, target, pred, _rate({k: measured[k] for k in seen}, steps), agree)


def _rate(skipped: Mapping[tuple[str, int], int], steps: Mapping[tuple[str, int], int]) -> Estimate:
    interval = cluster_bootstrap({k: v / steps[k] for k, v in skipped.items()})
    value = interval.estimate if interval.estimate is not None else math.nan
    return Estimate(value, interval.lo, interval.hi, interval.n_prompts)


def calibrate_cache(cache: str, fit: Sequence[ImageTrace], holdout: Sequence[ImageTrace],
                    base: Mapping[str, Any], min_r2: float, targets: Sequence[float]) -> CacheFit:
    """Fit ``cache`` on ``fit``, judge it on ``holdout``; the skip checks are left unmeasured.

    Args:
        cache: an accelerator with a trace model (``reports.traces.THRESHOLD_PARAM``).
        fit, holdout: traces of the fit and the held-out prompts.
        base: the cache's other parameters (defaults filled in) the curve and checks assume.
        min_r2: the pessimistic end of the held-out R²'s interval must reach it to be trusted.
        targets: predicted skip rates (on the fit prompts) to place the checked thresholds at.

    Raises:
        KeyError, ValueError: the traces cannot give the fit.
    """
    params: dict[str, Any] = {}
    r2 = r2_fit = stab = None
    notes: dict[str, Any] = {}
    trusted, verdict = True, "threshold -> skip-rate curve (nothing to fit)"
    if cache in FITTED:
        numbers = fit_numbers(cache, fit)
        params = {FITTED[cache]: list(numbers)}
        r2, r2_fit = r2_estimate(cache, holdout, numbers), r_squared(cache, fit, numbers)
        stab = stability(cache, fit, holdout)
        if cache == "teacache":
            poly = fit_teacache(fit)
            notes = {"x_range": list(poly.x_range), "n_points": poly.n_points}
        else:
            notes = {"max_relative_sd": _spread(fit)}
        trusted = r2 is not None and r2.pessimistic >= min_r2
        verdict = (f"held-out R² {r2.text()} {'>=' if trusted else '<'} {min_r2:g}" if r2 is not None
                   else "no held-out R² (no varying held-out signal)")
        verdict = ("trusted: " if trusted else "too poor to trust: ") + verdict + f"; {stab.text()}"
    full = {**base, **params}
    checks = []
    for target in targets:
        threshold = threshold_for_skip(fit, cache, full, target)
        if threshold is not None:
            checks.append(check_skips(holdout, cache, full, threshold, target))
    curve = skip_curve([*fit, *holdout], cache, full)
    if not curve:  # e.g. cache-dit's warm-up covering every step: no threshold makes it skip
        trusted, verdict = False, "skips no step at any threshold with these parameters"
    return CacheFit(cache, params, dict(base), trusted, verdict, r2, r2_fit, notes, stab, curve,
                    tuple(checks))


def _spread(traces: Sequence[ImageTrace]) -> float | None:
    """MagCache: the largest relative SD of a step's ratio across images."""
    import numpy as np

    table = np.asarray([t.signals["mag_ratio"] for t in traces], dtype=float)
    if len(table) < 2:
        return None
    return float(np.max(table.std(axis=0) / np.abs(table.mean(axis=0))))
