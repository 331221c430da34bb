"""TensorRT-LLM VisualGen: the ``cache`` section of ``--extra_visual_gen_options`` YAML.

Shape: NVIDIA/TensorRT-LLM, tensorrt_llm/_torch/visual_gen/config.py: ``VisualGenArgs.cache`` is
one of ``TeaCacheConfig(cache_backend="teacache", teacache_thresh: float > 0, use_ret_steps:
bool, coefficients: list[float])`` and ``CacheDiTConfig(cache_backend="cache_dit",
Fn_compute_blocks, Bn_compute_blocks, max_warmup_steps, max_cached_steps,
max_continuous_cached_steps, residual_diff_threshold, enable_taylorseer, taylorseer_order, ...)``;
extra keys are refused
(StrictBaseModel). One cache per file. VisualGen has no MagCache. Not installed here: the tests
check :data:`SHAPE`.
"""

from __future__ import annotations

from typing import Any

from reports.calibrate_records import CalibrationFile
from reports.calibration_exports.common import floats, header, single, taylorseer, yaml_lines

SHAPE = {"teacache": ("cache_backend", "teacache_thresh", "use_ret_steps", "coefficients"),
         "cache_dit": ("cache_backend", "Fn_compute_blocks", "Bn_compute_blocks", "max_warmup_steps",
                       "max_cached_steps", "max_continuous_cached_steps", "residual_diff_threshold",
                       "enable_taylorseer", "taylorseer_order")}


def render(cal: CalibrationFile) -> dict[str, str]:
    """{"trtllm_<backend>.yaml": YAML text} per applicable cache."""
    sections: dict[str, dict[str, Any]] = {}
    if (p := single(cal, "teacache")) is not None:
        # use_ret_steps selects Wan's alternative modulated input; the polynomial here is fitted
        # on the FLUX-style one, so it stays False.
        sections["teacache"] = {"cache_backend": "teacache",
                                "teacache_thresh": p.threshold,
                                "use_ret_steps": False, "coefficients": floats(p.fit.params["coefficients"])}
    if (p := single(cal, "cache_dit")) is not None:
        b = p.fit.base
        section: dict[str, Any] = {"cache_backend": "cache_dit"}
        section.update({k: int(b[k]) for k in SHAPE["cache_dit"][1:6] if k in b})
        section["residual_diff_threshold"] = p.threshold
        section.update(taylorseer(b))
        sections["cache_dit"] = section
    head = header(cal, "TensorRT-LLM VisualGen")
    return {f"trtllm_{name}.yaml": head + "\n".join(yaml_lines({"cache": section})) + "\n"
            for name, section in sections.items()}
