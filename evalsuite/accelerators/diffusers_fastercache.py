"""diffusers' FasterCache (``FasterCacheConfig``).

FasterCache approximates an attention module's output from its last two computed outputs
(``t + (t - t_2) * w``) for ``N - 1`` of every ``N`` steps inside a timestep window, and for
CFG models also skips the unconditional branch. FLUX.1-dev is guidance-distilled (no
unconditional batch), so by default only the attention approximation applies. As with PAB,
a step counts as skipped when the first hooked attention module was approximated.
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
class DiffusersFasterCache(Accelerator):
    """FasterCache attention approximation (plus CFG-branch skipping for non-distilled models)."""

    name = "fastercache"
    family = "cache"
    order = ORDER_CACHE
    description = (
        "diffusers FasterCache: extrapolate attention from the last two computed outputs for "
        "N-1 of every N steps inside a timestep window (steps counted as skipped = approximated)"
    )
    params = {
        "block_skip_range": Param(int, 2, "compute attention every N steps; 1 never approximates",
                                  min=1, max=100),
        "timestep_low": Param(float, -1.0, "approximate only while the timestep is above this",
                              min=-1.0, max=1000.0),
        "timestep_high": Param(float, 681.0, "... and below this (diffusers' default)",
                               min=0.0, max=1001.0),
        "attention_weight": Param(float, 0.5, "w in t + (t - t_2) * w", min=0.0, max=2.0),
        "guidance_distilled": Param(bool, True, "the model has no unconditional batch (FLUX.1-dev, "
                                    "schnell); false enables CFG-branch skipping"),
        "uncond_skip_range": Param(int, 5, "CFG models: compute the unconditional branch every "
                                   "N steps", min=1, max=100),
        "alpha_low_frequency": Param(float, 1.1, "CFG models: low-frequency update weight", min=0.0),
        "alpha_high_frequency": Param(float, 1.1, "CFG models: high-frequency update weight", min=0.0),
    }

    def conflicts(self, params: Mapping[str, Any], others: Mapping[str, Mapping[str, Any]]) -> str | None:
        if params["timestep_low"] >= params["timestep_high"]:
            return "fastercache.timestep_low must be below fastercache.timestep_high"
        return None

    def supports(self, family: ModelFamily, params: Mapping[str, Any]) -> str | None:
        return no_cache_api(family, "FasterCache")

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        from diffusers import FasterCacheConfig
        from diffusers.hooks.faster_cache import FasterCacheBlockHook

        weight = params["attention_weight"]
        pipe.transformer.enable_cache(FasterCacheConfig(
            spatial_attention_block_skip_range=params["block_skip_range"],
            spatial_attention_timestep_skip_range=(params["timestep_low"], params["timestep_high"]),
            attention_weight_callback=lambda _module: weight,
            is_guidance_distilled=params["guidance_distilled"],
            unconditional_batch_skip_range=params["uncond_skip_range"],
            alpha_low_frequency=params["alpha_low_frequency"],
            alpha_high_frequency=params["alpha_high_frequency"],
            current_timestep_callback=current_timestep(pipe),
            tensor_format="BCHW",
        ))
        counter = StepCounter()
        counted = count_first_hook(pipe.transformer, FasterCacheBlockHook, counter)
        return Applied(counter=counter, notes={"counted_module": counted})
