"""The GPU benchmark's CPU smoke run: FLUX.1-dev's FLOP count and the tiny path end to end."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import REPO


def _bench():
    spec = importlib.util.spec_from_file_location("flux_shapes", REPO / "bench" / "flux_shapes.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["flux_shapes"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_flux_dev_step_is_about_74_tflop_at_1024px() -> None:
    bench = _bench()
    shape = bench.Shape(bench.FLUX_DEV, 4096, 512)
    assert shape.dim == 3072
    assert bench.step_flops(shape) / 1e12 == pytest.approx(74.4, abs=0.5)
    assert bench.step_flops(shape, head_only=True) < bench.step_flops(shape) / 50


def test_tiny_benchmark_runs_every_variant_path_on_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    rows = bench.main(["--tiny", "--variants", "eager", "fp8", "cache50", "--warmup", "1", "--iters", "2"])
    by_name = {r.variant: r for r in rows}
    assert by_name["eager"].ms_per_step > 0 and by_name["cache50"].ms_per_step > 0
    assert by_name["fp8"].ms_per_step is None and "8.9" in by_name["fp8"].note
    assert by_name["cache50"].floor_ms < by_name["eager"].floor_ms
    assert "x floor" in capsys.readouterr().out
