"""vLLM-Omni: ``cache_backend`` and ``cache_config`` per cache, as JSON.

Shape: vllm-project/vllm-omni, vllm_omni/diffusion/data.py ``DiffusionCacheConfig`` (the dict
``Omni(cache_backend=..., cache_config=...)`` and ``vllm serve --cache-backend ... --cache-config
'<json>'`` take): TeaCache ``rel_l1_thresh``, ``coefficients``; MagCache ``mag_threshold``,
``mag_max_skip_steps``, ``mag_retention_ratio``, ``mag_ratios``; cache-dit ``Fn_compute_blocks``,
``Bn_compute_blocks``, ``max_warmup_steps``, ``max_cached_steps``, ``max_continuous_cached_steps``,
``residual_diff_threshold``, ``enable_taylorseer``, ``taylorseer_order``. Backends are named
"tea_cache", "mag_cache", "cache_dit" (vllm_omni/diffusion/cache/selector.py). Not installed
here: the tests check :data:`SHAPE`.
"""

from __future__ import annotations

from typing import Any

from reports.calibrate_records import CalibrationFile
from reports.calibration_exports.common import dumps, floats, single, taylorseer

FILENAME = "vllm_omni_cache.json"
SHAPE = {"tea_cache": ("rel_l1_thresh", "coefficients"),
         "mag_cache": ("mag_threshold", "mag_max_skip_steps", "mag_retention_ratio", "mag_ratios"),
         "cache_dit": ("Fn_compute_blocks", "Bn_compute_blocks", "max_warmup_steps", "max_cached_steps",
                       "max_continuous_cached_steps", "residual_diff_threshold", "enable_taylorseer",
                       "taylorseer_order")}


def render(cal: CalibrationFile) -> dict[str, str]:
    """{FILENAME: backend -> {"cache_backend", "cache_config"}}; empty when nothing applies."""
    out: dict[str, Any] = {}
    if (p := single(cal, "teacache")) is not None:
        out["tea_cache"] = {"rel_l1_thresh": p.threshold,
                            "coefficients": floats(p.fit.params["coefficients"])}
    if (p := single(cal, "magcache")) is not None:
        b = p.fit.base
        out["mag_cache"] = {"mag_threshold": p.threshold,
                            "mag_max_skip_steps": int(b["max_skip_steps"]),
                            "mag_retention_ratio": float(b["retention_ratio"]),
                            "mag_ratios": floats(p.fit.params["mag_ratios"])}
    if (p := single(cal, "cache_dit")) is not None:
        b = p.fit.base
        out["cache_dit"] = {k: int(b[k]) for k in SHAPE["cache_dit"][:5] if k in b}
        out["cache_dit"]["residual_diff_threshold"] = p.threshold
        out["cache_dit"].update(taylorseer(b))
    if not out:
        return {}
    body = {"model": cal.model.id,
            "backends": {name: {"cache_backend": name, "cache_config": c} for name, c in out.items()}}
    return {FILENAME: dumps(body)}
