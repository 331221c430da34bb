"""calibration.json in each consumer's format, checked against the shape each renderer cites.

The consumers installed here (diffusers, cache-dit, evalsuite) load the files back in
tests/evalsuite/cli/test_calibrate_command.py; the others (SGLang, vLLM-Omni, TensorRT-LLM)
are checked here against the fields their cited source declares (``SHAPE``).
"""

from __future__ import annotations

import ast
import json
from dataclasses import replace

import yaml

from reports.calibrate_records import (
    CacheFit,
    CalibrationFile,
    Estimate,
    ModelIdentity,
    SkipCheck,
    TransformerCalibration,
)
from reports.calibration_exports import render_all, sglang_python, trtllm_yaml, vllm_omni_json

COEFFS = [1.0, -2.0, 3.0, 0.5, 0.01]
RATIOS = [1.0, 0.99, 0.98, 0.97]


def _check(threshold: float) -> SkipCheck:
    return SkipCheck(threshold, 0.25, Estimate(0.25, 0.2, 0.3, 4))


def _cal(experts: tuple[str, ...] = ("transformer",)) -> CalibrationFile:
    def caches(k: int) -> tuple[CacheFit, ...]:
        return (CacheFit("teacache", {"coefficients": [c * k for c in COEFFS]}, {"threshold": 0.4}, True,
                         "trusted", Estimate(0.99, 0.98, 1.0, 4), checks=(_check(0.1 * k),)),
                CacheFit("magcache", {"mag_ratios": RATIOS},
                         {"threshold": 0.06, "max_skip_steps": 3, "retention_ratio": 0.2}, False, "too poor",
                         checks=(_check(0.002),)),
                CacheFit("cache_dit", {}, {"residual_diff_threshold": 0.08, "Fn_compute_blocks": 1,
                                           "Bn_compute_blocks": 0, "max_warmup_steps": 1,
                                           "warmup_interval": 1, "max_cached_steps": -1,
                                           "max_continuous_cached_steps": -1},
                         True, "curve", checks=(_check(0.12),)))
    return CalibrationFile(ModelIdentity("owner/model", "abc123", "flux", "bfloat16"),
                           {"steps": 4, "guidance": 3.5, "height": 64, "width": 64}, 8, 4, (0,), 0.8,
                           tuple(TransformerCalibration(name, 4, caches(k))
                                 for k, name in enumerate(experts, 1)))


def _kwargs(source: str) -> dict[str, dict[str, ast.expr]]:
    """Class name -> keyword arguments of every call in ``source``."""
    out = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            out[node.func.id] = {k.arg: k.value for k in node.keywords}
    return out


def test_sglang_params_use_only_the_cited_fields_and_key_experts_high_and_low() -> None:
    text = render_all(_cal())["sglang"][sglang_python.FILENAME]
    calls = _kwargs(text)
    for cls, fields in sglang_python.SHAPE.items():
        assert set(calls[cls]) <= set(fields), cls
    assert ast.literal_eval(calls["TeaCacheParams"]["coefficients"]) == COEFFS
    assert ast.literal_eval(calls["TeaCacheParams"]["teacache_thresh"]) == 0.1
    two = _kwargs(render_all(_cal(("transformer", "transformer_2")))["sglang"][sglang_python.FILENAME])
    experts = ast.literal_eval(two["TeaCacheParams"]["expert_coefficients"])
    assert set(experts) == {"high", "low"} and experts["low"] == [2 * c for c in COEFFS]
    assert "MagCacheParams" not in two  # SGLang's MagCache takes one table, not one per expert


def test_vllm_omni_config_uses_only_the_cited_fields() -> None:
    body = json.loads(render_all(_cal())["vllm-omni"][vllm_omni_json.FILENAME])
    backends = body["backends"]
    assert set(backends) == {"tea_cache", "mag_cache", "cache_dit"}
    for name, entry in backends.items():
        assert entry["cache_backend"] == name
        assert set(entry["cache_config"]) <= set(vllm_omni_json.SHAPE[name]), name
    assert backends["mag_cache"]["cache_config"]["mag_ratios"] == RATIOS
    assert backends["cache_dit"]["cache_config"]["residual_diff_threshold"] == 0.12


def test_tensorrt_llm_yaml_holds_one_cache_with_only_the_cited_fields() -> None:
    files = render_all(_cal())["tensorrt-llm"]
    assert set(files) == {"trtllm_teacache.yaml", "trtllm_cache_dit.yaml"}  # VisualGen has no MagCache
    for name, text in files.items():
        cache = yaml.safe_load(text)["cache"]
        backend = cache["cache_backend"]
        assert name == f"trtllm_{backend}.yaml" and set(cache) <= set(trtllm_yaml.SHAPE[backend])
    tea = yaml.safe_load(files["trtllm_teacache.yaml"])["cache"]
    assert tea["coefficients"] == COEFFS and tea["teacache_thresh"] > 0  # VisualGen: gt=0.0


def test_every_file_names_the_model_and_warns_about_an_untrusted_fit() -> None:
    for consumer, files in render_all(_cal()).items():
        for name, text in files.items():
            if name.endswith(".json"):
                assert json.loads(text)["model"] == "owner/model", consumer
                continue
            assert "owner/model@abc123 (flux, bfloat16)" in text, name
            assert "too poor to trust: magcache" in text, name


def test_per_expert_numbers_are_left_to_consumers_that_take_them() -> None:
    files = render_all(_cal(("transformer", "transformer_2")))
    assert not files["diffusers"] and not files["vllm-omni"] and not files["tensorrt-llm"]
    assert not files["evalsuite"] and not files["cache-dit"]
    assert files["sglang"]  # TeaCacheParams.expert_coefficients


def test_taylorseer_reaches_cache_dit_as_its_calibrator_and_the_engines_as_their_flags(tmp_path) -> None:
    import cache_dit

    cal = _cal()
    tea, mag, dbcache = cal.transformers[0].caches
    with_seer = replace(dbcache, base={**dbcache.base, "taylorseer": True, "taylorseer_order": 2})
    cal = replace(cal, transformers=(TransformerCalibration("transformer", 4, (tea, mag, with_seer)),))
    files = render_all(cal)
    path = tmp_path / "cache_dit.yaml"
    path.write_text(files["cache-dit"]["cache_dit.yaml"])
    config, calibrator = cache_dit.load_cache_config(str(path))
    assert config.residual_diff_threshold == 0.12
    assert isinstance(calibrator, cache_dit.TaylorSeerCalibratorConfig) and calibrator.taylorseer_order == 2
    vllm = json.loads(files["vllm-omni"][vllm_omni_json.FILENAME])["backends"]["cache_dit"]["cache_config"]
    assert vllm["enable_taylorseer"] is True and vllm["taylorseer_order"] == 2
    trt = yaml.safe_load(files["tensorrt-llm"]["trtllm_cache_dit.yaml"])["cache"]
    assert trt["enable_taylorseer"] is True and set(trt) <= set(trtllm_yaml.SHAPE["cache_dit"])
