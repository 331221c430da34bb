"""Cache implementations compared at equal work: quality against the *measured* skip rate.

Three implementations of first-block caching (diffusers, ParaAttention, cache-dit) and
TeaCache and MagCache beside them all trade skipped denoising steps for error. At the same
measured skip rate (skipped / all denoiser calls, the cache telemetry of every image) the
error they add should be similar; one that lies far outside the others is a candidate bug
(vllm-omni PR #5561's MagCache applied the cached residual more than once per skipped step:
PSNR 11.3 dB instead of 29.6 dB at the same work).

**The band model** (docs/SUMMARY.md, ``equal_work``). Only fidelity metrics are checked
(paired metrics: PSNR, SSIM, LPIPS compare each image with the uncached baseline's, so
they measure the error a cache adds); per-image metrics are plotted, not checked. Each cache
variant is a point (measured skip rate, the metric's mean with its 95% CI). Quality is
compared on a log-error scale, where "twice the error" means the same for every metric:
log10 |value - ideal| (SSIM, LPIPS), or -value / 10 for a metric in decibels with no ideal
(PSNR: log10 of the MSE up to a constant). An *implementation* is one cache accelerator (an
endpoint variant is its own). Each implementation's curve is the piecewise-linear
interpolation, over its variants sorted by skip rate, of its CI bounds. For a variant of
implementation A at skip rate s, the **band** is the envelope of every *other* local
implementation's curve over [s - w, s + w] (w = ``SKIP_WINDOW``: skip rates are quantised by
the step count; no curve is extrapolated beyond that window), widened by a factor
``ERROR_FACTOR`` on the error: different algorithms pick different steps to skip, and on the
tiny FLUX TeaCache and MagCache land within 1.5 dB of the first-block caches at the same
work, while a residual applied twice costs about 10 dB. The variant is an **implementation
outlier** when its whole CI lies outside the widened band. No band (no other implementation
within the window) is said, with the reason, never read as a pass. Two rules keep a bug
from vouching for another: an endpoint variant is held to the local implementations and is
never part of a band (a served engine's cache answers to the local reference), and a local
implementation found an outlier on a metric is left out of every other band for that metric,
which is then checked again without it.

Pure functions; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from reports.equal_work_records import EqualWork, EqualWorkPoint, OutlierCheck
from reports.metric_info import MetricInfo
from reports.summary_records import VariantResult

SKIP_WINDOW = 0.05  # skip-rate half-width of the band: half a step in 10
ERROR_FACTOR = 2.0  # an outlier adds more than twice (or less than half) the others' error
OUTLIER = "implementation outlier"
CANDIDATE_BUG = "a candidate bug"
METHOD = ("fidelity metrics on a log-error scale; each other local implementation's CI bounds "
          f"interpolated linearly in measured skip rate, enveloped over +/-{SKIP_WINDOW}, widened "
          f"by a factor {ERROR_FACTOR:g} on the error; outlier when the variant's whole 95% CI lies "
          "outside that band; endpoints and outlying implementations never make a band")

Pair = tuple[float, float]
Curve = Sequence[tuple[float, float, float]]  # (skip rate, low, high) on the log-error scale


ENDPOINT_PREFIX = "endpoint:"


def implementation(v: VariantResult) -> str | None:
    """Which implementation a variant is: its cache accelerator, or the endpoint it calls."""
    if v.endpoint is not None:
        return f"{ENDPOINT_PREFIX}{v.name}"
    return v.cache.accelerator if v.cache is not None else None


def is_local(impl: str) -> bool:
    """Whether an implementation runs in this run's own workers (not behind an endpoint)."""
    return not impl.startswith(ENDPOINT_PREFIX)


def checkable(info: MetricInfo) -> bool:
    """A fidelity metric with an error scale: paired, with an ideal or (dB) a perfect value."""
    return info.kind == "paired" and (info.ideal is not None or info.perfect is not None)


def to_error(value: float, info: MetricInfo) -> float:
    """The log-error of ``value`` (larger is worse): log10 of its distance from the ideal, or
    for a decibel metric without one (PSNR) -value / 10, the log10 of the MSE up to a constant."""
    if info.ideal is not None:
        return math.log10(max(abs(value - info.ideal), 1e-12))
    return -value / 10 if info.higher_is_better else value / 10


def from_error(error: float, info: MetricInfo) -> float:
    """The metric's value at a log-error (the inverse of :func:`to_error`)."""
    if info.ideal is not None:
        return info.ideal + (-1 if info.higher_is_better else 1) * 10 ** error
    return -10 * error if info.higher_is_better else 10 * error


def _quality(v: VariantResult, metrics: Mapping[str, MetricInfo]) -> dict[str, tuple[float, float, float]]:
    out = {}
    for m, info in metrics.items():
        e = v.metrics.get(m)
        if info.kind == "set" or e is None or e.not_applicable:
            continue
        value, ci = (e.delta_vs_baseline, e.delta_ci) if info.kind == "per-image" else (e.mean, e.ci)
        if value is not None and ci is not None and all(math.isfinite(x) for x in (value, *ci)):
            out[m] = (value, ci[0], ci[1])
    return out


def equal_work_points(variants: Sequence[VariantResult],
                      metrics: Mapping[str, MetricInfo]) -> tuple[EqualWorkPoint, ...]:
    """Every cache (and endpoint) variant's point; failed or unmeasured ones with a reason."""
    points = []
    for v in variants:
        impl = implementation(v)
        if impl is None or v.is_baseline or v.role is not None:
            continue
        if v.status != "ok":
            points.append(EqualWorkPoint(v.name, impl, None, reason=f"variant {v.status}"))
            continue
        if v.endpoint is not None and v.steps.computed + v.steps.skipped == 0:
            points.append(EqualWorkPoint(v.name, impl, None, _quality(v, metrics),
                                         "skip rate unknown: the endpoint reports no cache telemetry"))
            continue
        points.append(EqualWorkPoint(v.name, impl, v.steps.skip_rate, _quality(v, metrics)))
    return tuple(points)


def _interp(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    """Linear interpolation within [xs[0], xs[-1]] (xs sorted ascending)."""
    if x <= xs[0]:
        return ys[0]
    for i in range(1, len(xs)):
        if x <= xs[i]:
            x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return ys[-1]


def curve_range(curve: Curve, lo_s: float, hi_s: float) -> Pair | None:
    """(min low bound, max high bound) of one implementation's curve over skip rates [lo_s, hi_s].

    ``curve``: (skip rate, low, high) sorted by skip rate. None when the curve does not reach
    into the window (never extrapolated).
    """
    xs = [p[0] for p in curve]
    a, b = max(lo_s, xs[0]), min(hi_s, xs[-1])
    if a > b:
        return None
    # Piecewise linear: its extremes over [a, b] lie at a, b or a knot between them.
    at = [a, b, *(x for x in xs if a <= x <= b)]
    return (min(_interp(x, xs, [p[1] for p in curve]) for x in at),
            max(_interp(x, xs, [p[2] for p in curve]) for x in at))


def band_at(skip_rate: float, curves: Mapping[str, Curve], window: float = SKIP_WINDOW) -> Pair | None:
    """The envelope of ``curves`` (implementation -> curve) within ``window`` of ``skip_rate``."""
    ranges = [r for c in curves.values() if c
              and (r := curve_range(c, skip_rate - window, skip_rate + window)) is not None]
    if not ranges:
        return None
    return min(r[0] for r in ranges), max(r[1] for r in ranges)


def check_point(p: EqualWorkPoint, metric: str, info: MetricInfo, curves: Mapping[str, Curve],
                window: float = SKIP_WINDOW, factor: float = ERROR_FACTOR) -> OutlierCheck:
    """One variant on one fidelity metric against the band of the *other* local implementations.

    Only local implementations make bands: a served engine's cache is held to the local
    reference, never the reverse, and two servers with the same bug cannot vouch for each other.
    """
    value, lo, hi = p.quality[metric]
    assert p.skip_rate is not None
    others = {impl: c for impl, c in curves.items() if impl != p.implementation and is_local(impl)}
    raw = band_at(p.skip_rate, others, window)
    if raw is None:
        return OutlierCheck(p.variant, metric, p.skip_rate, value, (lo, hi), None, False,
                            note=f"no band: no other local implementation within {window:g} of skip rate "
                            f"{p.skip_rate:.2f}")
    margin = math.log10(factor)
    least, most = raw[0] - margin, raw[1] + margin  # the band's smallest and largest error
    ends = sorted((from_error(least, info), from_error(most, info)))
    band = (ends[0], ends[1])
    errors = sorted((to_error(lo, info), to_error(hi, info)))
    if errors[0] > most:
        direction = "worse"
    elif errors[1] < least:
        direction = "better"
    else:
        return OutlierCheck(p.variant, metric, p.skip_rate, value, (lo, hi), band, False)
    note = (f"{OUTLIER}: {p.implementation} at skip rate {p.skip_rate:.2f} scores {metric} "
            f"{value:.4g} [{lo:.4g}, {hi:.4g}], {direction} than the other implementations' band "
            f"[{band[0]:.4g}, {band[1]:.4g}]: {CANDIDATE_BUG}")
    return OutlierCheck(p.variant, metric, p.skip_rate, value, (lo, hi), band, True, direction, note)


def equal_work(variants: Sequence[VariantResult], metrics: Mapping[str, MetricInfo],
               window: float = SKIP_WINDOW, factor: float = ERROR_FACTOR) -> EqualWork | None:
    """The equal-work comparison of a run's cache variants; None when it has no cache variant."""
    points = equal_work_points(variants, metrics)
    if not points:
        return None
    checks = []
    for m, info in metrics.items():
        if not checkable(info):
            continue
        curves: dict[str, list[tuple[float, float, float]]] = {}
        for p in points:
            if p.skip_rate is not None and m in p.quality:
                e = sorted(to_error(x, info) for x in p.quality[m][1:])
                curves.setdefault(p.implementation, []).append((p.skip_rate, e[0], e[1]))
        for c in curves.values():
            c.sort()
        measured = [p for p in points if p.skip_rate is not None and m in p.quality]
        first = [check_point(p, m, info, curves, window, factor) for p in measured]
        suspects = {p.implementation for p, c in zip(measured, first, strict=True)
                    if c.outlier and is_local(p.implementation)}
        trusted = {impl: c for impl, c in curves.items() if impl not in suspects}
        checks += [c if p.implementation in suspects or not suspects
                   else check_point(p, m, info, trusted, window, factor)
                   for p, c in zip(measured, first, strict=True)]
    return EqualWork(METHOD, window, factor, points, tuple(checks))
