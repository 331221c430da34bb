"""Does one calibration serve other settings? (``evalsuite calibrate --check-transfer``)

The baseline is traced again at each of the suite's ``confirm`` settings (other step counts,
sizes; a quantization or compile applied), and the calibration made at the suite's own
settings is judged on those traces:

* a fitted cache (TeaCache, MagCache): its numbers' R² there (MagCache's table resampled to
  the step count, as diffusers does), beside a refit's own R² there; and, at each checked
  threshold, the skip rate with the base numbers against the skip rate with the refit's;
* a curve cache (FBCache, ParaAttention, DBCache): at each checked threshold, the skip rate
  there against the skip rate at the suite's settings: do thresholds transfer?

It serves when the R² still reaches the trust bar and no skip rate moves by more than
``tolerance``. Pure functions; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.calibrate_fit import FITTED, fit_numbers, r_squared
from reports.calibrate_records import CacheFit, TransferCheck
from reports.traces import THRESHOLD_PARAM, ImageTrace, predict

SKIP_TOLERANCE = 0.1  # skip rate, absolute


def transfer_check(setting: Mapping[str, Any], transformer: str, fit: CacheFit,
                   base_traces: Sequence[ImageTrace], traces: Sequence[ImageTrace], min_r2: float,
                   tolerance: float = SKIP_TOLERANCE) -> TransferCheck:
    """Judge ``fit`` (made on ``base_traces``) on ``traces`` taken at ``setting``."""
    cache, key = fit.cache, THRESHOLD_PARAM[fit.cache]
    params = {**fit.base, **fit.params}
    r2 = refit_r2 = None
    reference_params, reference_traces = params, base_traces
    if cache in FITTED:
        numbers = params[FITTED[cache]]
        refit = fit_numbers(cache, traces)
        r2, refit_r2 = r_squared(cache, traces, numbers), r_squared(cache, traces, refit)
        reference_params, reference_traces = {**params, FITTED[cache]: list(refit)}, traces
    rates = []
    for check in fit.checks:
        here = predict(traces, cache, {**params, key: check.threshold}).skip_rate
        ref = predict(reference_traces, cache, {**reference_params, key: check.threshold}).skip_rate
        rates.append((check.threshold, here, ref))
    worst = max((abs(h - r) for _, h, r in rates), default=0.0)
    fails = []
    if r2 is not None and r2 < min_r2:
        fails.append(f"R² {r2:.3f} < {min_r2:g} (a refit there: {refit_r2:.3f})" if refit_r2 is not None
                     else f"R² {r2:.3f} < {min_r2:g}")
    if worst > tolerance:
        against = "a refit's" if cache in FITTED else "the suite's settings'"
        fails.append(f"skip rate off {against} by {worst:.2f} > {tolerance:g}")
    label = ", ".join(f"{k}={v}" for k, v in setting.items())
    if fails:
        verdict = f"{cache} at {label}: does not transfer: " + "; ".join(fails)
    else:
        verdict = (f"{cache} at {label}: serves" + (f" (R² {r2:.3f})" if r2 is not None else "")
                   + f"; skip rates within {worst:.2f}")
    return TransferCheck(dict(setting), transformer, cache, not fails, verdict, r2, refit_r2, tuple(rates))
