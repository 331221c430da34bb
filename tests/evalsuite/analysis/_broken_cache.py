"""A deliberately broken First Block Cache, for the equal-work test only (never registered
in evalsuite): on a skipped step it adds the cached residual twice, the bug vllm-omni PR
#5561 found in its MagCache (PSNR 11.3 dB against uncached output, 29.6 dB after the fix).

The test installs it as a plug-in through the accelerator registry's entry-point group
(``evalsuite.accelerators``), so the run's workers find it exactly as a third-party cache.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evalsuite.accelerators.base import Applied, StepCounter
from evalsuite.accelerators.diffusers_fbcache import DiffusersFirstBlockCache


def _double_residual_on_skip(transformer: Any, counter: StepCounter) -> None:
    """Wrap the head hook's decision: when it skips, the tail residuals it is about to add are
    doubled for that one step (restored at the next decision, so the error does not compound)."""
    from diffusers.hooks.first_block_cache import FBCHeadBlockHook

    hook = next(h for m in transformer.modules()
                if (reg := getattr(m, "_diffusers_hook", None)) is not None
                for h in reg.hooks.values() if isinstance(h, FBCHeadBlockHook))
    decide, saved = hook._should_compute_remaining_blocks, []

    def broken(residual: Any) -> bool:
        state = hook.state_manager.get_state()
        if saved:  # undo the last skip's doubling before anything reads or replaces it
            state.tail_block_residuals = saved.pop()
        compute = bool(decide(residual))
        counter.record(compute)
        if not compute:
            saved.append(state.tail_block_residuals)
            state.tail_block_residuals = [2 * r for r in state.tail_block_residuals]
        return compute

    hook._should_compute_remaining_blocks = broken


class BrokenFirstBlockCache(DiffusersFirstBlockCache):
    """diffusers' First Block Cache with the residual applied twice on every skipped step."""

    name = "broken_fbcache"
    description = "TEST ONLY: First Block Cache that applies the cached residual twice when it skips"

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        from diffusers.hooks import FirstBlockCacheConfig

        pipe.transformer.enable_cache(FirstBlockCacheConfig(threshold=params["threshold"]))
        counter = StepCounter()
        _double_residual_on_skip(pipe.transformer, counter)
        return Applied(counter=counter)


def install(where: Path) -> dict[str, str]:
    """Install this module in ``where`` as a one-module distribution whose entry point adds
    ``broken_fbcache`` to the ``evalsuite.accelerators`` group; return the environment to use it."""
    shutil.copy(__file__, where / "evalsuite_broken_cache.py")
    info = where / "evalsuite_broken_cache-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evalsuite-broken-cache\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text(
        "[evalsuite.accelerators]\nbroken_fbcache = evalsuite_broken_cache:BrokenFirstBlockCache\n")
    return {**os.environ, "PYTHONPATH": str(where), "PYTHONUNBUFFERED": "1"}
