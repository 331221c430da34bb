"""diffusers' Pyramid Attention Broadcast (``PyramidAttentionBroadcastConfig``).

PAB reuses ("broadcasts") an attention module's previous output for ``N - 1`` of every ``N``
calls while the timestep lies inside a window. It skips attention, not whole steps: a step
counts as skipped here when the first hooked attention module served it from cache (every
hooked module follows the same rhythm, so that is every module's attention).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalsuite.accelerators._hooks import count_first_hook, current_timestep
from evalsuite.accelerators.base import (
    ORDER_CACHE,
    Accelerator,
    Applied,
    ModelFamily,
    Param,
    StepCounter,
    no_cache_api,
    register,
)


@register
class DiffusersPyramidAttentionBroadcast(Accelerator):
    """Pyramid Attention Broadcast on the spatial (joint) attention of each block."""

    name = "pab"
    family = "cache"
    order = ORDER_CACHE
    description = (
        "diffusers PyramidAttentionBroadcast: reuse each block's attention output for N-1 of "
        "every N steps inside a timestep window (steps counted as skipped = attention reused)"
    )
    params = {
        "block_skip_range": Param(int, 2, "recompute attention every N steps; 1 never reuses",
                                  min=1, max=100),
        "timestep_low": Param(float, 100.0, "reuse only while the timestep (1000 -> 0) is above "
                              "this", min=-1.0, max=1000.0),
        "timestep_high": Param(float, 800.0, "... and below this", min=0.0, max=1001.0),
    }

    def conflicts(self, params: Mapping[str, Any], others: Mapping[str, Mapping[str, Any]]) -> str | None:
        if params["timestep_low"] >= params["timestep_high"]:
            return "pab.timestep_low must be below pab.timestep_high"
        return None

    def supports(self, family: ModelFamily, params: Mapping[str, Any]) -> str | None:
        return no_cache_api(family, "Pyramid Attention Broadcast")

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        from diffusers import PyramidAttentionBroadcastConfig
        from diffusers.hooks.pyramid_attention_broadcast import PyramidAttentionBroadcastHook

        pipe.transformer.enable_cache(PyramidAttentionBroadcastConfig(
            spatial_attention_block_skip_range=params["block_skip_range"],
            spatial_attention_timestep_skip_range=(params["timestep_low"], params["timestep_high"]),
            current_timestep_callback=current_timestep(pipe),
        ))
        counter = StepCounter()
        counted = count_first_hook(pipe.transformer, PyramidAttentionBroadcastHook, counter)
        return Applied(counter=counter, notes={"counted_module": counted})
