"""evalsuite itself: a suite file that runs the calibrated caches against the baseline.

Shape: evalsuite's own suite parser (evalsuite/suite/spec.py; docs/SUITE.md): each calibrated
cache twice, once through ``calibration = { path = ..., force = ... }`` (the numbers read from
calibration.json, identity checked) and once with the numbers written out. The tests parse it
with evalsuite's suite parser.
"""

from __future__ import annotations

from typing import Any

import tomli_w

from reports.calibrate_fit import FITTED as _FITTED
from reports.calibrate_records import CalibrationFile
from reports.calibration_exports.common import floats, header, single
from reports.traces import THRESHOLD_PARAM as _THRESHOLD

FILENAME = "evalsuite_suite.toml"
CALIBRATION_FROM_EXPORTS = "../calibration.json"  # exports/ sits beside calibration.json


def render(cal: CalibrationFile) -> dict[str, str]:
    """{FILENAME: the suite}; its variants cover every cache calibrated on a single transformer."""
    m, s = cal.model, cal.settings
    model: dict[str, Any] = {"id": m.id, "dtype": m.dtype,
                             **{k: s[k] for k in ("steps", "guidance", "height", "width") if k in s}}
    if m.revision:
        model["revision"] = m.revision
    if m.family:
        model["family"] = m.family
    variants: list[dict[str, Any]] = [{"name": "baseline"}]
    for t in cal.transformers:
        for fit in t.caches:
            pick = single(cal, fit.cache)
            if pick is None:
                continue
            params = {k: v for k, v in fit.base.items() if k in _given(fit.cache)}
            params[_THRESHOLD[fit.cache]] = pick.threshold
            if fit.cache in _FITTED:
                variants.append({"name": f"{fit.cache}-calibrated", fit.cache: dict(params),
                                 "calibration": {"path": CALIBRATION_FROM_EXPORTS, "force": not fit.trusted}})
                params[_FITTED[fit.cache]] = floats(fit.params[_FITTED[fit.cache]])
            variants.append({"name": f"{fit.cache}-{pick.threshold:g}", fit.cache: params})
    if len(variants) == 1:  # per-expert numbers: evalsuite's caches take one set for every expert
        return {}
    suite = {"name": f"calibrated-{m.id.replace('/', '-')}", "baseline": "baseline", "model": model,
             "prompts": {"sets": ["smoke"], "seeds": list(cal.seeds)}, "variant": variants}
    return {FILENAME: header(cal, "evalsuite") + tomli_w.dumps(suite)}


def _given(cache: str) -> tuple[str, ...]:
    """Parameters besides the threshold the checks assumed, which the suite must repeat."""
    return {"magcache": ("max_skip_steps", "retention_ratio"),
            "cache_dit": ("Fn_compute_blocks", "Bn_compute_blocks", "max_warmup_steps")}.get(cache, ())
