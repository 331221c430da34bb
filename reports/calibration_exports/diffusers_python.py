"""diffusers, as Python: ``MagCacheConfig(mag_ratios=...)`` and ``FirstBlockCacheConfig``.

Shape: diffusers 0.42.1, src/diffusers/hooks/mag_cache.py ``MagCacheConfig(threshold: float,
max_skip_steps: int, retention_ratio: float, num_inference_steps: int, mag_ratios: Tensor |
list[float] | None, calibrate: bool)`` and src/diffusers/hooks/first_block_cache.py
``FirstBlockCacheConfig(threshold: float)``; both enabled with ``transformer.enable_cache``.
diffusers has no TeaCache. The tests execute this file and apply the config to a tiny model.
"""

from __future__ import annotations

from reports.calibrate_records import CalibrationFile
from reports.calibration_exports.common import floats, header, single

FILENAME = "diffusers_caches.py"
SHAPE = {"MagCacheConfig": ("threshold", "max_skip_steps", "retention_ratio", "num_inference_steps",
                            "mag_ratios", "calibrate"),
         "FirstBlockCacheConfig": ("threshold",)}


def render(cal: CalibrationFile) -> dict[str, str]:
    """{FILENAME: the Python text}; empty when neither cache was calibrated on a single transformer."""
    mag, fbc = single(cal, "magcache"), single(cal, "fbcache")
    if mag is None and fbc is None:
        return {}
    lines = [header(cal, "diffusers"), "from diffusers import FirstBlockCacheConfig, MagCacheConfig", ""]
    if mag is not None:
        b, ratios = mag.fit.base, floats(mag.fit.params["mag_ratios"])
        lines += [f"MAG_RATIOS = {ratios!r}", "",
                  "# pipe.transformer.enable_cache(magcache_config)",
                  "magcache_config = MagCacheConfig(",
                  f"    threshold={mag.threshold!r},",
                  f"    max_skip_steps={int(b['max_skip_steps'])!r},",
                  f"    retention_ratio={float(b['retention_ratio'])!r},",
                  f"    num_inference_steps={len(ratios)},",
                  "    mag_ratios=MAG_RATIOS,", ")", ""]
    if fbc is not None:
        threshold = fbc.threshold
        lines += ["# pipe.transformer.enable_cache(fbcache_config)",
                  f"fbcache_config = FirstBlockCacheConfig(threshold={threshold!r})", ""]
    return {FILENAME: "\n".join(lines)}
