"""Where a technique can be removed, removing it restores the baseline output bit for bit.

These run in the test process (no runner): the point is the library's own undo path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from evalsuite.accelerators import ACCELERATORS
from tests.evalsuite.accelerators._accel_helpers import full_params, latents, tiny_pipe


def _disable_diffusers_cache(pipe: Any) -> None:
    pipe.transformer.disable_cache()


def _remove_teacache(pipe: Any) -> None:
    from evalsuite.accelerators.teacache import remove_teacache

    remove_teacache(pipe.transformer)


def _remove_cache_dit(pipe: Any) -> None:
    import cache_dit

    cache_dit.disable_cache(pipe)


# accelerator, parameters that make it skip on the tiny model, how to remove it
REMOVABLE: list[tuple[str, dict[str, Any], Callable[[Any], None]]] = [
    ("fbcache", {"threshold": 0.3}, _disable_diffusers_cache),
    ("taylorseer", {"cache_interval": 2, "disable_cache_before_step": 1}, _disable_diffusers_cache),
    ("magcache", {"threshold": 1.0, "retention_ratio": 0.2, "max_skip_steps": 10}, _disable_diffusers_cache),
    ("fastercache", {"block_skip_range": 2}, _disable_diffusers_cache),
    ("pab", {"block_skip_range": 2}, _disable_diffusers_cache),
    ("teacache", {"threshold": 5.0}, _remove_teacache),
    ("cache_dit", {"Fn_compute_blocks": 1, "max_warmup_steps": 1, "residual_diff_threshold": 0.5},
     _remove_cache_dit),
]


@pytest.fixture(scope="module")
def baseline() -> np.ndarray:
    pipe, model = tiny_pipe()
    return latents(pipe, model)


@pytest.mark.parametrize(("name", "params", "remove"), REMOVABLE, ids=[r[0] for r in REMOVABLE])
def test_removing_a_cache_restores_the_baseline_exactly(
        baseline: np.ndarray, name: str, params: dict[str, Any], remove: Callable[[Any], None]) -> None:
    if name == "cache_dit":
        pytest.importorskip("cache_dit")
    pipe, model = tiny_pipe()
    applied = ACCELERATORS.get(name)().apply(pipe, full_params(name, **params))
    cached = latents(pipe, model)
    assert applied.counter is not None and applied.counter.total_skipped > 0, "the cache must act"
    assert not np.array_equal(cached, baseline)
    remove(pipe)
    assert np.array_equal(latents(pipe, model), baseline)


def test_para_attn_adapter_removes_cleanly_and_keeps_upstream_semantics(baseline: np.ndarray) -> None:
    pytest.importorskip("para_attn")
    from para_attn.first_block_cache import utils

    from evalsuite.accelerators.base import StepCounter
    from evalsuite.accelerators.para_attn_fbcache import ParaAttentionCache

    pipe, model = tiny_pipe()
    counter = StepCounter()
    cache = ParaAttentionCache(pipe, {"residual_diff_threshold": 0.3}, counter)
    cached = latents(pipe, model)
    assert counter.skipped > 0 and counter.computed + counter.skipped == model.steps
    assert utils.get_current_cache_context() is None, "the context must not leak out of a call"
    assert not hasattr(type(pipe), "_is_cached"), "no class-level patch"
    assert not np.array_equal(cached, baseline)
    cache.remove()
    assert np.array_equal(latents(pipe, model), baseline)


def test_para_attn_threshold_zero_is_bit_identical_to_the_baseline(baseline: np.ndarray) -> None:
    # Upstream's semantics: threshold 0 never uses the cache, so the adapter's block
    # re-implementation must compute exactly what diffusers' own loop computes.
    pytest.importorskip("para_attn")
    pipe, model = tiny_pipe()
    applied = ACCELERATORS.get("para_attn")().apply(
        pipe, full_params("para_attn", residual_diff_threshold=0.0))
    assert np.array_equal(latents(pipe, model), baseline)
    assert applied.counter is not None and applied.counter.total_skipped == 0


def test_teacache_rescale_polynomial_matches_the_published_coefficients() -> None:
    from evalsuite.accelerators.teacache import FLUX_COEFFICIENTS, rescale

    for x in (0.0, 0.01, 0.1, 0.3):
        assert rescale(x) == pytest.approx(float(np.polyval(FLUX_COEFFICIENTS, x)))
    assert FLUX_COEFFICIENTS[0] == pytest.approx(498.651651)
