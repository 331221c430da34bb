"""``calibration.json`` rendered in each consumer's own format: one renderer per file here.

Each renderer module has ``render(cal) -> {file name: text}`` (empty when it has nothing for
this calibration) and a docstring citing the consumer's code or docs it follows.
"""

from __future__ import annotations

from collections.abc import Callable

from reports.calibrate_records import CalibrationFile
from reports.calibration_exports import (
    cache_dit_yaml,
    diffusers_python,
    evalsuite_suite,
    sglang_python,
    trtllm_yaml,
    vllm_omni_json,
)

RENDERERS: dict[str, Callable[[CalibrationFile], dict[str, str]]] = {
    "evalsuite": evalsuite_suite.render,
    "diffusers": diffusers_python.render,
    "cache-dit": cache_dit_yaml.render,
    "sglang": sglang_python.render,
    "vllm-omni": vllm_omni_json.render,
    "tensorrt-llm": trtllm_yaml.render,
}


def render_all(cal: CalibrationFile) -> dict[str, dict[str, str]]:
    """Consumer -> {file name: text}, every consumer listed (empty: nothing applies)."""
    return {name: render(cal) for name, render in RENDERERS.items()}
