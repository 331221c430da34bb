"""cache-dit: a DBCache config file for ``cache_dit.load_cache_config`` / ``enable_cache``.

Shape: cache-dit 1.5.3, src/cache_dit/caching/load_configs.py ``load_cache_config`` reads a YAML
file whose ``cache_config`` section updates a ``DBCacheConfig`` (src/cache_dit/caching/
cache_contexts/cache_config.py: ``Fn_compute_blocks``, ``Bn_compute_blocks``,
``residual_diff_threshold``, ``max_warmup_steps``, ``warmup_interval``, ``max_cached_steps``,
``max_continuous_cached_steps``, ``num_inference_steps``) and, with ``enable_taylorseer`` and
``taylorseer_order`` in the same section, a ``TaylorSeerCalibratorConfig`` (load_configs.py,
``load_cache_options_from_dict``). cache-dit has no TeaCache or MagCache;
its threshold -> skip-rate curve is what calibrating ``cache_dit`` measures. The tests load
the file with cache_dit itself.
"""

from __future__ import annotations

from reports.calibrate_records import CalibrationFile
from reports.calibration_exports.common import header, single, taylorseer, yaml_lines

FILENAME = "cache_dit.yaml"
KEYS = ("Fn_compute_blocks", "Bn_compute_blocks", "max_warmup_steps", "warmup_interval", "max_cached_steps",
        "max_continuous_cached_steps")


def render(cal: CalibrationFile) -> dict[str, str]:
    """{FILENAME: the YAML text}; empty when ``cache_dit`` was not calibrated on a single transformer."""
    pick = single(cal, "cache_dit")
    if pick is None:
        return {}
    b = pick.fit.base
    config = {k: int(b[k]) for k in KEYS if k in b}
    config["residual_diff_threshold"] = pick.threshold
    config["num_inference_steps"] = int(cal.settings["steps"])
    config.update(taylorseer(b))
    return {FILENAME: header(cal, "cache-dit") + "\n".join(yaml_lines({"cache_config": config})) + "\n"}
