"""torchao quantization, torch.compile and the pipeline-level optimizations."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from evalsuite.accelerators import ACCELERATORS, Environment
from tests.evalsuite.accelerators._accel_helpers import full_params, latents, run_sweep, tiny_pipe


@pytest.mark.parametrize("scheme", ["int8dq", "int8wo"])
def test_int8_changes_the_transformer_weights(scheme: str) -> None:
    pytest.importorskip("torchao")
    pipe, model = tiny_pipe(steps=2)
    block = pipe.transformer.transformer_blocks[0]
    before = block.ff.net[2].weight.detach().clone()
    applied = ACCELERATORS.get("torchao")().apply(pipe, full_params("torchao", scheme=scheme))
    after = block.ff.net[2].weight
    assert type(after) is not type(before) and after.dequantize().dtype == before.dtype
    assert not torch.equal(after.dequantize(), before), "int8 rounding must change the weights"
    assert applied.notes["transformer_quantized_linears"] == applied.notes["transformer_linears"] > 0
    assert np.isfinite(latents(pipe, model)).all()


def test_text_encoders_can_be_weight_only_quantized() -> None:
    pytest.importorskip("torchao")
    pipe, _ = tiny_pipe(steps=2)
    applied = ACCELERATORS.get("torchao")().apply(
        pipe, full_params("torchao", scheme="int8wo", text_encoders="int8wo"))
    assert applied.notes["text_encoder_quantized_linears"] > 0
    assert applied.notes["text_encoder_2_quantized_linears"] > 0


@pytest.mark.parametrize("scheme", ["float8dq-tensor", "float8dq-row"])
def test_fp8_dynamic_is_refused_without_an_ada_or_hopper_gpu(scheme: str) -> None:
    pytest.importorskip("torchao")
    acc, params = ACCELERATORS.get("torchao")(), full_params("torchao", scheme=scheme)
    with pytest.raises(ValueError, match="CPU"):
        acc.check_environment(params, Environment("cpu"))
    with pytest.raises(ValueError, match="8.9"):
        acc.check_environment(params, Environment("cuda", (8, 0)))  # A100
    acc.check_environment(params, Environment("cuda", (9, 0)))  # H100: accepted


def test_a_quantization_that_converts_nothing_is_an_error() -> None:
    pytest.importorskip("torchao")
    from evalsuite.accelerators.torchao_quant import quantize

    no_linear = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 3))
    with pytest.raises(RuntimeError, match="converted none"):
        quantize(no_linear, "int8wo", "probe")


def test_pipeline_optimizations_keep_the_output(tmp_path: Path) -> None:
    pipe, model = tiny_pipe(steps=3)
    reference = latents(pipe, model)
    for name in ("fuse_qkv", "channels_last"):
        applied = ACCELERATORS.get(name)().apply(pipe, full_params(name))
        assert applied.notes and all(v for v in applied.notes.values()), name
    ACCELERATORS.get("attention_backend")().apply(pipe, full_params("attention_backend",
                                                                    backend="_native_math"))
    np.testing.assert_allclose(latents(pipe, model), reference, rtol=1e-4, atol=1e-4)


def test_gpu_only_attention_backends_are_refused_on_cpu() -> None:
    acc = ACCELERATORS.get("attention_backend")()
    with pytest.raises(ValueError, match="CUDA only|not installed"):
        acc.check_environment({"backend": "_native_flash"}, Environment("cpu"))
    with pytest.raises(ValueError, match="package"):
        acc.check_environment({"backend": "sage"}, Environment("cuda", (9, 0)))


@pytest.mark.slow
def test_compile_quantization_and_pipeline_techniques_through_the_runner(tmp_path: Path) -> None:
    cache_dir = tmp_path / "inductor"
    variants = f"""
[[variant]]
name = "compiled"
compile = {{ regional = true, cache_dir = "{cache_dir}" }}
[[variant]]
name = "standard"
fuse_qkv = true
channels_last = true
attention_backend = {{ backend = "_native_math" }}
"""
    has_torchao = importlib.util.find_spec("torchao") is not None
    if has_torchao:  # optional library: its variants join the sweep only when installed
        variants += """
[[variant]]
name = "int8dq"
torchao = { scheme = "int8dq" }
[[variant]]
name = "fp8wo"
torchao = { scheme = "float8wo" }
"""
    sweep = run_sweep(tmp_path, variants, steps=4, warmup=1)
    for v in sweep.variants.values():
        assert v["status"] == "ok" and not v["checks"], (v["name"], v["checks"])
    tele = sweep.telemetry["compiled"]["accelerators"]["compile"]
    # Compilation happened during the warm-up only: no recompilation while timed.
    assert tele["compile_s"] > 0 and tele["compile_s"] == pytest.approx(tele["compile_s_total"])
    assert sorted(tele["compiled"]) == ["FluxSingleTransformerBlock", "FluxTransformerBlock"]
    assert sweep.telemetry["compiled"]["cold_s"] > tele["compile_s"] * 0.5
    assert any(cache_dir.iterdir()), "the persistent Inductor cache was written"
    # The summary carries compile time apart from warm latency.
    assert sweep.variants["compiled"]["compile_s"] == pytest.approx(tele["compile_s"])
    assert sweep.variants["standard"]["compile_s"] is None
    # summary.json writes an infinite PSNR (identical images) as the string "inf"
    assert float(sweep.variants["compiled"]["metrics"]["psnr"]["mean"]) > 40, "compiled must match eager"
    assert float(sweep.variants["standard"]["metrics"]["psnr"]["mean"]) > 40
    standard = sweep.telemetry["standard"]["accelerators"]
    assert standard["fuse_qkv"]["transformer_fused"] > 0
    assert standard["attention_backend"]["backend"] == "_native_math"
    if not has_torchao:
        pytest.skip("torchao is not installed: its variants were left out")
    for name in ("int8dq", "fp8wo"):
        quant = sweep.telemetry[name]["accelerators"]["torchao"]
        assert quant["transformer_quantized_linears"] == quant["transformer_linears"] > 0
