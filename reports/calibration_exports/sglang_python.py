"""SGLang Diffusion: ``TeaCacheParams`` and ``MagCacheParams`` as Python.

Shape (sgl-project/sglang, python/sglang/multimodal_gen/configs/sample/):
* teacache.py at 18ae0170c8524af2576258a0c4170b55638ba985: ``TeaCacheParams(teacache_thresh:
  float, coefficients: list[float], expert_coefficients: dict[str, list[float]] | None,
  expert_thresh: dict[str, float] | None, ...)``; the experts of Wan 2.2 are keyed "high" and
  "low";
* magcache.py at 219273ffd61e0ec6c2dea81ac2962c836402078d: ``MagCacheParams(threshold: float,
  max_skip_steps: int, retention_ratio: float, num_steps: int, mag_ratios: Tensor | None)``.
SGLang is not installed here: the tests check the keywords against :data:`SHAPE`.
"""

from __future__ import annotations

from reports.calibrate_records import CalibrationFile
from reports.calibration_exports.common import floats, header, picks

FILENAME = "sglang_caches.py"
SHAPE = {"TeaCacheParams": ("teacache_thresh", "coefficients", "expert_coefficients", "expert_thresh"),
         "MagCacheParams": ("threshold", "max_skip_steps", "retention_ratio", "num_steps", "mag_ratios")}
# diffusers' attribute names of Wan 2.2's experts -> SGLang's keys (the high-noise expert runs first).
EXPERT_KEYS = {"transformer": "high", "transformer_2": "low"}


def render(cal: CalibrationFile) -> dict[str, str]:
    """{FILENAME: the Python text}; empty when neither TeaCache nor MagCache was calibrated."""
    tea, mag = picks(cal, "teacache"), picks(cal, "magcache")
    if not tea and not mag:
        return {}
    lines = [header(cal, "SGLang Diffusion")]
    if tea:
        lines.append("from sglang.multimodal_gen.configs.sample.teacache import TeaCacheParams")
    if mag:
        lines += ["import torch", "from sglang.multimodal_gen.configs.sample.magcache import MagCacheParams"]
    lines.append("")
    if len(tea) == 1:
        p = tea[0]
        thresh = p.threshold
        lines += ["teacache_params = TeaCacheParams(", f"    teacache_thresh={thresh!r},",
                  f"    coefficients={floats(p.fit.params['coefficients'])!r},", ")", ""]
    elif tea:  # one polynomial (and threshold) per expert
        coeffs = {EXPERT_KEYS.get(p.transformer, p.transformer): floats(p.fit.params["coefficients"])
                  for p in tea}
        thresh = {EXPERT_KEYS.get(p.transformer, p.transformer): p.threshold for p in tea}
        lines += ["teacache_params = TeaCacheParams(", f"    teacache_thresh={max(thresh.values())!r},",
                  f"    expert_coefficients={coeffs!r},", f"    expert_thresh={thresh!r},", ")", ""]
    if len(mag) == 1:  # SGLang's MagCache takes one table
        p, b = mag[0], mag[0].fit.base
        ratios = floats(p.fit.params["mag_ratios"])
        lines += ["magcache_params = MagCacheParams(",
                  f"    threshold={p.threshold!r},",
                  f"    max_skip_steps={int(b['max_skip_steps'])!r},",
                  f"    retention_ratio={float(b['retention_ratio'])!r},",
                  f"    num_steps={len(ratios)},", f"    mag_ratios=torch.tensor({ratios!r}),", ")", ""]
    return {FILENAME: "\n".join(lines)}
