"""Traces recorded on the tiny FLUX predict each cache's real decisions up to its first skip.

The baseline is traced once; each cache then runs on a fresh pipeline with thresholds placed
between the traced signal values (never on one), and its measured per-step decisions must
equal the prediction up to and including the first skip (predicted or measured).
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

from evalsuite.accelerators import ACCELERATORS
from evalsuite.models.pipeline import generate, load_pipeline
from evalsuite.models.tracing import (
    prediction_params,
    read_traces,
    record_traces,
    trace_from_json,
    trace_to_json,
)
from evalsuite.run.work import WorkItem
from evalsuite.suite.types import ModelSpec
from reports.calibration import fit_teacache, magcache_ratios
from reports.traces import THRESHOLD_PARAM, ImageTrace, predict_image

MODEL = ModelSpec(id="tiny", steps=8, device="cpu", max_sequence_length=128)
ITEM = WorkItem("p0", "a red fox in the snow", 0)


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> ImageTrace:
    path = tmp_path_factory.mktemp("trace") / "baseline.jsonl"
    pipe = load_pipeline(MODEL, "cpu")
    assert record_traces(pipe, MODEL, "cpu", [ITEM], path, fn_blocks=[1]) == []
    assert record_traces(pipe, MODEL, "cpu", [ITEM], path) == []  # already traced: nothing added
    traces = read_traces(path)
    assert len(traces) == 1 and len(path.read_text().splitlines()) == 1
    return traces[0]


def _measure(accelerator: str, params: dict) -> tuple[bool, ...]:
    """Per-step decisions of ``accelerator`` on a fresh tiny pipeline (True = computed)."""
    pipe = load_pipeline(MODEL, "cpu")
    applied = ACCELERATORS.get(accelerator)().apply(pipe, params)
    decisions: list[bool] = []
    record = applied.counter.record
    applied.counter.record = lambda computed: (decisions.append(bool(computed)), record(computed))
    generate(pipe, MODEL, "cpu", ITEM.text, ITEM.seed)
    return tuple(decisions)


def _between(values: list[float]) -> list[float]:
    """Thresholds halfway between neighbouring distinct values: never on a decision boundary."""
    v = sorted({round(x, 9) for x in values if math.isfinite(x)})
    return [(a + b) / 2 for a, b in zip(v, v[1:], strict=False)]


def _thresholds(trace: ImageTrace, accelerator: str) -> list[float]:
    """Two thresholds: one low in the signal's range (a late first skip), one high (an early one)."""
    if accelerator in ("fbcache", "para_attn", "cache_dit"):
        signal = trace.signals["fn1" if accelerator == "cache_dit" else "first_block"]
        mids = _between([row[-1] for row in signal[1:]])
        return [mids[len(mids) // 4], mids[-1]]
    return [0.3, 0.7] if accelerator == "teacache" else [0.02, 0.3]


CACHES = [("fbcache", {}), ("teacache", {}), ("magcache", {"retention_ratio": 0.0}),
          ("magcache", {"retention_ratio": 0.0, "mag_ratios": "from the trace"}),
          ("para_attn", {}), ("cache_dit", {"Fn_compute_blocks": 1, "max_warmup_steps": 1})]


@pytest.mark.parametrize("accelerator, fixed", CACHES, ids=[c + ("-own-ratios" if "mag_ratios" in f else "")
                                                              for c, f in CACHES])
def test_prediction_matches_measured_decisions_up_to_first_skip(trace: ImageTrace, accelerator: str,
                                                                fixed: dict) -> None:
    module = {"para_attn": "para_attn", "cache_dit": "cache_dit"}.get(accelerator)
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    cls = ACCELERATORS.get(accelerator)
    if fixed.get("mag_ratios"):  # a calibrated table: this model's own ratios, from the trace
        fixed = {**fixed, "mag_ratios": list(trace.signals["mag_ratio"])}
    skipped_somewhere = False
    for threshold in _thresholds(trace, accelerator):
        defaults = {k: p.default for k, p in cls.params.items()}
        params = defaults | fixed | {THRESHOLD_PARAM[accelerator]: threshold}
        predicted = predict_image(trace, accelerator, prediction_params(accelerator, params)).computed
        measured = _measure(accelerator, params)
        assert len(measured) == MODEL.steps
        firsts = [p.index(False) for p in (predicted, measured) if False in p]
        upto = min(firsts) + 1 if firsts else MODEL.steps
        assert measured[:upto] == predicted[:upto], (threshold, predicted, measured)
        if not firsts:  # nothing skipped: the measured skip rate (0) is predicted exactly
            assert measured == predicted
        if accelerator == "magcache":  # decided by the ratio table alone: exact at every step
            assert measured == predicted
        skipped_somewhere |= bool(firsts)
    assert skipped_somewhere, "no threshold skipped a step: the test would prove nothing"


def test_bad_calibration_parameters_are_rejected_before_running() -> None:
    env = None
    mag, tea = ACCELERATORS.get("magcache")(), ACCELERATORS.get("teacache")()
    with pytest.raises(ValueError, match="mag_ratios"):
        mag.check_environment({"mag_ratios": [1.0, "x"]}, env)
    with pytest.raises(ValueError, match="mag_ratios"):
        mag.check_environment({"mag_ratios": [1.0]}, env)
    with pytest.raises(ValueError, match="coefficients"):
        tea.check_environment({"coefficients": [1.0, True]}, env)
    mag.check_environment({"mag_ratios": []}, env)
    tea.check_environment({"coefficients": [1, 0.5]}, env)


def test_trace_signals_have_the_documented_shapes(trace: ImageTrace) -> None:
    n = MODEL.steps
    assert trace.steps == n and trace.n_blocks == 6
    assert [len(r) for r in trace.signals["first_block"]] == list(range(n))
    assert [len(r) for r in trace.signals["fn1"]] == list(range(n))
    for name in ("modulated", "output", "mag_ratio"):
        assert len(trace.signals[name]) == n
    assert math.isnan(trace.signals["modulated"][0]) and trace.signals["mag_ratio"][0] == 1.0
    assert all(x > 0 for x in trace.signals["modulated"][1:])
    # Calibration runs on real traces: a fitted polynomial and a ratio per step.
    assert len(magcache_ratios([trace])) == n
    fit = fit_teacache([trace], degree=1)
    assert fit.n_points == n - 1 and math.isfinite(fit.r2)


def test_magcache_calibrate_mode_matches_the_traced_ratios(trace: ImageTrace, tmp_path: Path) -> None:
    pipe = load_pipeline(MODEL, "cpu")
    params = {k: p.default for k, p in ACCELERATORS.get("magcache").params.items()} | {"calibrate": True}
    applied = ACCELERATORS.get("magcache")().apply(pipe, params)
    generate(pipe, MODEL, "cpu", ITEM.text, ITEM.seed)
    assert applied.ratios == pytest.approx(list(trace.signals["mag_ratio"]), rel=1e-4)


@pytest.mark.parametrize("tiny_id", ["tiny-qwen-image", "tiny-flux2"])
def test_another_familys_blocks_are_not_traced_and_say_so(tiny_id: str, tmp_path: Path) -> None:
    """The tracer reads FLUX.1-style blocks: on another layout the baseline still runs, with a note."""
    model = ModelSpec(id=tiny_id, steps=3, height=32, width=32, device="cpu")
    path = tmp_path / "baseline.jsonl"
    notes = record_traces(load_pipeline(model, "cpu"), model, "cpu", [ITEM], path)
    assert len(notes) == 1 and notes[0].startswith("cache traces not recorded: ")
    assert not path.exists()


def test_a_trace_file_line_round_trips_with_nan_as_null(tmp_path: Path) -> None:
    steps = 4
    rel = tuple(tuple(0.1 * (t - s) for s in range(t)) for t in range(steps))
    a = ImageTrace("p0", 3, steps, 20, {"first_block": rel, "modulated": (math.nan, 0.1, 0.2, 0.3)})
    line = json.dumps(trace_to_json(a), allow_nan=False)  # strict JSON: NaN is null
    back = trace_from_json(json.loads(line))
    assert back.signals["modulated"][1:] == (0.1, 0.2, 0.3) and math.isnan(back.signals["modulated"][0])
    assert back.signals["first_block"] == rel and (back.prompt_id, back.seed, back.steps) == ("p0", 3, 4)
    same = {"threshold": 0.05}
    assert predict_image(back, "fbcache", same) == predict_image(a, "fbcache", same)
    path = tmp_path / "t.jsonl"
    path.write_text(line + "\n" + line[:10])  # a torn last line is skipped
    assert read_traces(path) == [back]
