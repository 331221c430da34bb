"""Cache decision traces: predict a cache's skip pattern and speedup at any threshold.

The baseline computes every step. Recording, per step, the signal each cache bases its
decision on gives that cache's decision at any threshold *exactly* up to and including its
first skip (until then the cached run follows the baseline's trajectory), and an
approximation after it (a skipped step changes the latents every later step sees).

Signals an image's trace holds (names are the keys of ``ImageTrace.signals``):

``first_block``  pairwise: ``[t][s]`` = mean|r_t - r_s| / mean|r_s| for s < t, r = the first
                 block's residual (image tokens). FBCache and ParaAttention compare step t
                 with the last *computed* step, hence pairwise.
``fn<k>``        the same for the residual after the first k blocks (cache-dit's Fn = k).
``modulated``    consecutive: ``[t]`` = mean|m_t - m_{t-1}| / mean|m_{t-1}|, m = block 0's
                 timestep-modulated input (TeaCache's input signal); ``[0]`` is NaN.
``output``       consecutive, the same for the transformer's output (TeaCache's refit target).
``mag_ratio``    consecutive: ``[t]`` = mean over tokens of |R_t| / |R_{t-1}|, R = the residual of
                 all blocks (MagCache's magnitude ratio, its calibration formula); ``[0]`` = 1.

The rules below mirror each implementation (diffusers 0.42 FirstBlockCache and MagCache,
ParaAttention 0.3.38, cache-dit 1.5.3 DBCache, evalsuite's TeaCache port). Pure functions; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# TeaCache4FLUX's rescale polynomial, highest power first (the same as the accelerator's).
FLUX_TEACACHE_COEFFICIENTS = (4.98651651e02, -2.83781631e02, 5.58554382e01, -3.82021401e00,
                              2.64230861e-01)

# The parameter each cache's threshold is called, for callers that search it.
THRESHOLD_PARAM = {"fbcache": "threshold", "para_attn": "residual_diff_threshold",
                   "cache_dit": "residual_diff_threshold", "teacache": "threshold",
                   "magcache": "threshold"}


@dataclass(frozen=True)
class ImageTrace:
    """One image's per-step decision signals, recorded on the baseline (by the tracer,
    ``evalsuite/models/tracing.py``, which also owns the trace files' format)."""

    prompt_id: str
    seed: int
    steps: int
    n_blocks: int  # transformer blocks (double + single); a skipped step runs a fraction of them
    signals: Mapping[str, Any] = field(default_factory=dict)  # see the module docstring


@dataclass(frozen=True)
class SkipPattern:
    """Predicted decisions for one image: True = step computed."""

    computed: tuple[bool, ...]
    partial: float  # fraction of a full step's block work a skipped step still does

    @property
    def skipped(self) -> int:
        """Steps served from cache."""
        return sum(not c for c in self.computed)

    @property
    def skip_rate(self) -> float:
        """Skipped steps over all steps."""
        return self.skipped / len(self.computed) if self.computed else 0.0

    @property
    def first_skip(self) -> int | None:
        """Index of the first skipped step (where the prediction is exact), or None."""
        return next((t for t, c in enumerate(self.computed) if not c), None)

    @property
    def speedup(self) -> float:
        """Denoising-loop speedup: steps over the block work actually done.

        It leaves out text encoding and VAE decoding, so the measured end-to-end speedup is
        a little lower (more so at few steps).
        """
        work = sum(1.0 if c else self.partial for c in self.computed)
        return len(self.computed) / work if work > 0 else math.inf


def _pairwise_rule(rel: Sequence[Sequence[float]], steps: int, skip: Callable[[float], bool],
                   forced: Callable[[int], bool], max_cached: int = -1,
                   max_continuous: int = -1) -> tuple[bool, ...]:
    """Compare each step with the last computed one; ``skip(diff)`` decides, ``forced(t)`` computes."""
    computed, last, cached, run = [True], 0, 0, 0
    for t in range(1, steps):
        can = not forced(t) and (max_cached < 0 or cached < max_cached) and (
            max_continuous < 0 or run < max_continuous) and skip(rel[t][last])
        computed.append(not can)
        if can:
            cached, run = cached + 1, run + 1
        else:
            last, run = t, 0
    return tuple(computed)


def _teacache(trace: ImageTrace, threshold: float, coefficients: Sequence[float]) -> tuple[bool, ...]:
    """TeaCache: accumulate rescaled input changes, skip while below; first and last computed."""
    rel, n = trace.signals["modulated"], trace.steps
    computed, acc = [True], 0.0
    for t in range(1, n):
        if t == n - 1:
            computed.append(True)
            acc = 0.0
            continue
        acc += polyval(coefficients, rel[t])
        compute = acc >= threshold
        if compute:
            acc = 0.0
        computed.append(compute)
    return tuple(computed)


def magcache_pattern(ratios: Sequence[float], steps: int, threshold: float, max_skip_steps: int,
                     retention_ratio: float) -> tuple[bool, ...]:
    """diffusers' MagCache rule over per-step magnitude ratios (already at ``steps`` entries).

    A threshold of 0 never skips (evalsuite's convention, see the accelerator).
    """
    if threshold <= 0:
        return (True,) * steps
    retention = int(retention_ratio * steps + 0.5)
    computed, ratio, err, k = [], 1.0, 0.0, 0
    for t in range(steps):
        compute = True
        if t >= retention:
            ratio *= ratios[t] if t < len(ratios) else 1.0
            k += 1
            err += abs(1.0 - ratio)
            if t > 0 and err <= threshold and k <= max_skip_steps:
                compute = False
            else:
                ratio, err, k = 1.0, 0.0, 0
        computed.append(compute)
    return tuple(computed)


def nearest_interp(values: Sequence[float], length: int) -> tuple[float, ...]:
    """diffusers' nearest-neighbour resampling of a ratio table to ``length`` steps."""
    if length == 1:
        return (float(values[-1]),)
    scale = (len(values) - 1) / (length - 1)
    return tuple(float(values[int(round(i * scale))]) for i in range(length))


def predict_image(trace: ImageTrace, accelerator: str, params: Mapping[str, Any]) -> SkipPattern:
    """Predicted skip pattern of ``accelerator`` with ``params`` on one traced image.

    Args:
        trace: the baseline's trace of the image.
        accelerator: ``fbcache``, ``para_attn``, ``cache_dit``, ``teacache`` or ``magcache``.
        params: the accelerator's parameters (missing ones take the accelerator's default).

    Raises:
        KeyError: the trace lacks the signal the accelerator needs.
        ValueError: the accelerator is not a cache this module models.
    """
    n, blocks = trace.steps, max(trace.n_blocks, 1)
    if accelerator == "fbcache":
        tau = float(params.get("threshold", 0.05))
        pattern = _pairwise_rule(trace.signals["first_block"], n, lambda d: not d > tau, lambda t: False)
        return SkipPattern(pattern, 1 / blocks)
    if accelerator == "para_attn":
        tau, warm = float(params.get("residual_diff_threshold", 0.08)), int(params.get("warmup_steps", 0))
        pattern = _pairwise_rule(trace.signals["first_block"], n, lambda d: tau > 0 and d < tau,
                                 lambda t: t < warm)
        return SkipPattern(pattern, 1 / blocks)
    if accelerator == "cache_dit":
        fn, bn = int(params.get("Fn_compute_blocks", 8)), int(params.get("Bn_compute_blocks", 0))
        tau = float(params.get("residual_diff_threshold", 0.08))
        warm = set(range(0, int(params.get("max_warmup_steps", 8)), int(params.get("warmup_interval", 1))))
        pattern = _pairwise_rule(trace.signals[f"fn{fn}"], n,
                                 lambda d: tau >= 1.0 or (tau > 0 and d < tau), lambda t: t in warm,
                                 int(params.get("max_cached_steps", -1)),
                                 int(params.get("max_continuous_cached_steps", -1)))
        return SkipPattern(pattern, min(1.0, (fn + bn) / blocks))
    if accelerator == "teacache":
        coefficients = params.get("coefficients") or FLUX_TEACACHE_COEFFICIENTS
        return SkipPattern(_teacache(trace, float(params.get("threshold", 0.4)), coefficients), 0.0)
    if accelerator == "magcache":
        # MagCache decides from its ratio table alone, not from the images: the prediction is
        # exact at every step. An empty table means diffusers' FLUX table, which this leaf
        # package cannot import: evalsuite.models.tracing.prediction_params fills it in.
        if params.get("calibrate"):
            return SkipPattern((True,) * n, 0.0)
        ratios = params.get("mag_ratios")
        if not ratios:
            raise ValueError("magcache: pass the ratio table as mag_ratios (the trace's own "
                             "measured ratios are signals['mag_ratio'])")
        pattern = magcache_pattern(nearest_interp(ratios, n), n, float(params.get("threshold", 0.06)),
                                   int(params.get("max_skip_steps", 3)),
                                   float(params.get("retention_ratio", 0.2)))
        return SkipPattern(pattern, 0.0)
    raise ValueError(f"no trace model for accelerator {accelerator!r} (known: {', '.join(THRESHOLD_PARAM)})")


@dataclass(frozen=True)
class Prediction:
    """A cache setting predicted over several traced images."""

    accelerator: str
    params: Mapping[str, Any]
    skip_rate: float  # skipped over all steps, pooled
    speedup: float  # denoising-loop speedup of the pooled work (see SkipPattern.speedup)
    n_images: int
    patterns: tuple[SkipPattern, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (without the per-image patterns)."""
        return {"accelerator": self.accelerator, "params": dict(self.params),
                "skip_rate": self.skip_rate, "speedup": self.speedup, "n_images": self.n_images}


def predict(traces: Sequence[ImageTrace], accelerator: str, params: Mapping[str, Any]) -> Prediction:
    """Predict skip rate and speedup of ``accelerator`` with ``params`` over ``traces``."""
    patterns = tuple(predict_image(t, accelerator, params) for t in traces)
    steps = sum(len(p.computed) for p in patterns)
    skipped = sum(p.skipped for p in patterns)
    work = sum(sum(1.0 if c else p.partial for c in p.computed) for p in patterns)
    return Prediction(accelerator, dict(params), skipped / steps if steps else 0.0,
                      steps / work if work > 0 else math.inf, len(patterns), patterns)


@dataclass(frozen=True)
class TracePrediction:
    """summary.json ``variants[].trace_prediction``: predicted against measured, same images."""

    predicted_skip_rate: float
    predicted_speedup: float  # denoising work only (see SkipPattern.speedup)
    measured_skip_rate: float | None  # over the traced images the variant generated
    n_images: int  # traced images
    n_measured: int  # of those, images the variant generated


def threshold_for_speedup(traces: Sequence[ImageTrace], accelerator: str, params: Mapping[str, Any],
                          target: float, hi: float, *, iterations: int = 40) -> float | None:
    """The smallest threshold in ``[0, hi]`` whose predicted speedup reaches ``target``.

    Bisection over the threshold (predicted speedup is non-decreasing in it for these rules
    up to the approximation after the first skip); None when even ``hi`` falls short.
    Meant for placing a search's first probes, not as an answer.
    """
    key = THRESHOLD_PARAM[accelerator]
    at = lambda x: predict(traces, accelerator, {**params, key: x}).speedup  # noqa: E731
    if at(hi) < target:
        return None
    lo, top = 0.0, hi
    for _ in range(iterations):
        mid = (lo + top) / 2
        lo, top = (lo, mid) if at(mid) >= target else (mid, top)
    return top


def polyval(coefficients: Sequence[float], x: float) -> float:
    """Horner's rule, highest power first (numpy.poly1d order)."""
    value = 0.0
    for c in coefficients:
        value = value * x + c
    return value
