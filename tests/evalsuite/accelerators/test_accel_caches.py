"""Every cache through the real runner: skips follow the threshold, 0 skips nothing, a huge
threshold skips all but the forced steps, and per-variant thresholds stay isolated."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.evalsuite.accelerators._accel_helpers import SweepResult, run_sweep

STEPS = 8
HUGE = 1.0e6
# cache -> (parameter table with {t} for the threshold, steps always computed per image)
THRESHOLD_CACHES = {
    "fbcache": ("{{ threshold = {t} }}", 1),  # step 0 has no previous residual
    "para_attn": ("{{ residual_diff_threshold = {t} }}", 1),
    "teacache": ("{{ threshold = {t} }}", 2),  # first and last step
    # retention_ratio 0.25 of 8 steps = 2 kept; no limit on consecutive skips
    "magcache": ("{{ threshold = {t}, retention_ratio = 0.25, max_skip_steps = 100 }}", 2),
    "cache_dit": ("{{ Fn_compute_blocks = 1, max_warmup_steps = 2, residual_diff_threshold = {t} }}", 2),
}
THRESHOLDS = {"zero": 0.0, "mid": 0.15, "huge": HUGE}
# Optional libraries: a cache whose package is absent is left out of the sweep and its
# tests skip (importorskip); the others still run.
PACKAGES = {"para_attn": "para_attn", "cache_dit": "cache_dit"}


def _available(cache: str) -> bool:
    return cache not in PACKAGES or importlib.util.find_spec(PACKAGES[cache]) is not None


def _require(cache: str) -> None:
    if cache in PACKAGES:
        pytest.importorskip(PACKAGES[cache])


def _variants(caches: list[str]) -> str:
    tables = []
    for cache in caches:
        template = THRESHOLD_CACHES[cache][0]
        for label, t in THRESHOLDS.items():
            tables.append(f'[[variant]]\nname = "{cache}-{label}"\n"{cache}" = {template.format(t=t)}\n')
    return "\n".join(tables)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> SweepResult:
    """One runner sweep: baseline + each threshold cache at 0, mid and huge thresholds."""
    tmp = tmp_path_factory.mktemp("caches")
    extra = (
        '[[variant]]\nname = "para-lo"\npara_attn = { residual_diff_threshold = 0.05 }\n'
        '[[variant]]\nname = "para-hi"\npara_attn = { residual_diff_threshold = 0.4 }\n'
    ) if _available("para_attn") else ""
    caches = [c for c in THRESHOLD_CACHES if _available(c)]
    return run_sweep(tmp, _variants(caches) + extra, steps=STEPS)


@pytest.mark.slow
@pytest.mark.parametrize("cache", list(THRESHOLD_CACHES))
def test_skips_are_monotone_in_the_threshold(sweep: SweepResult, cache: str) -> None:
    _require(cache)
    forced = THRESHOLD_CACHES[cache][1]
    zero, mid, huge = (sweep.skipped(f"{cache}-{label}") for label in THRESHOLDS)
    assert zero == 0, "threshold 0 must skip nothing"
    assert zero <= mid <= huge
    assert huge == STEPS - forced, f"a huge threshold skips all but the {forced} forced steps"
    assert sweep.computed(f"{cache}-huge") == forced
    for label in THRESHOLDS:
        v = sweep.variants[f"{cache}-{label}"]
        assert v["steps"]["computed"] + v["steps"]["skipped"] == STEPS
    # The applied check: a cache that never skipped is flagged inert, the others are not.
    assert any(c.startswith("inert") for c in sweep.variants[f"{cache}-zero"]["checks"])
    assert not sweep.variants[f"{cache}-huge"]["checks"]


@pytest.mark.slow
def test_para_attn_thresholds_are_isolated_per_variant(sweep: SweepResult) -> None:
    _require("para_attn")
    # Upstream's class-level patch would give both variants the first threshold's behaviour.
    lo, hi = sweep.skipped("para-lo"), sweep.skipped("para-hi")
    assert lo < hi
    assert sweep.telemetry["para-lo"]["accelerators"]["para_attn"]["para_attn_version"] == "0.3.38"


@pytest.mark.slow
def test_huge_threshold_images_differ_from_the_baseline(sweep: SweepResult) -> None:
    for cache in filter(_available, THRESHOLD_CACHES):
        # summary.json writes an infinite PSNR (identical images) as the string "inf"
        psnr_zero = float(sweep.variants[f"{cache}-zero"]["metrics"]["psnr"]["mean"])
        psnr_huge = float(sweep.variants[f"{cache}-huge"]["metrics"]["psnr"]["mean"])
        assert psnr_huge < psnr_zero, cache


@pytest.mark.slow
def test_attention_caches_skip_and_interval_one_is_inert(tmp_path: Path) -> None:
    variants = """
[[variant]]
name = "taylorseer"
taylorseer = { cache_interval = 3, disable_cache_before_step = 2, factors_dtype = "float32" }
[[variant]]
name = "taylorseer-inert"
taylorseer = { cache_interval = 1 }
[[variant]]
name = "pab"
pab = { block_skip_range = 2 }
[[variant]]
name = "fastercache"
fastercache = { block_skip_range = 2 }
[[variant]]
name = "magcache-calibrate"
magcache = { calibrate = true }
"""
    if _available("cache_dit"):
        variants += """
[[variant]]
name = "cache-dit-taylorseer"
cache_dit = { Fn_compute_blocks = 1, max_warmup_steps = 2, residual_diff_threshold = 0.3, taylorseer = true }
"""
    sweep = run_sweep(tmp_path, variants, steps=STEPS)
    for name in ("taylorseer", "pab", "fastercache", "cache-dit-taylorseer"):
        if name not in sweep.variants:
            continue
        assert sweep.skipped(name) > 0, name
        assert not sweep.variants[name]["checks"], name
    # TaylorSeer: steps 0-1 computed, then every third from step 3 on (3 and 6).
    assert sweep.computed("taylorseer") == 4
    assert sweep.skipped("taylorseer-inert") == 0
    assert any(c.startswith("inert") for c in sweep.variants["taylorseer-inert"]["checks"])
    # Calibration skips nothing by design and reports one ratio per step instead.
    calib = sweep.telemetry["magcache-calibrate"]["accelerators"]["magcache"]
    assert len(calib["calibration_ratios"]) == STEPS
    assert sweep.skipped("magcache-calibrate") == 0
    _require("cache_dit")
    cache_dit = sweep.telemetry["cache-dit-taylorseer"]["accelerators"]["cache_dit"]
    assert len(cache_dit["last_image_cached_steps"]) == sweep.skipped("cache-dit-taylorseer")
