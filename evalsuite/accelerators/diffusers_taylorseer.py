"""diffusers' TaylorSeer cache (``transformer.enable_cache(TaylorSeerCacheConfig)``).

TaylorSeer runs the hooked attention modules fully on "refresh" steps and, in between,
predicts their outputs with a Taylor expansion over the steps since the last refresh. It has
no threshold: ``cache_interval`` sets the rhythm. We count on the first hooked module, which
every step passes through once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalsuite.accelerators._hooks import count_first_hook
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

FACTOR_DTYPES = ("bfloat16", "float32", "float16")


@register
class DiffusersTaylorSeer(Accelerator):
    """TaylorSeer as shipped in diffusers' hooks."""

    name = "taylorseer"
    family = "cache"
    order = ORDER_CACHE
    description = (
        "diffusers TaylorSeerCache: compute attention every `cache_interval` steps, predict it "
        "in between from a Taylor expansion of the last computed outputs"
    )
    params = {
        "cache_interval": Param(int, 5, "a full computation every N steps; 1 never predicts", min=1),
        "disable_cache_before_step": Param(int, 3, "steps always computed at the start (they "
                                           "seed the Taylor factors)", min=0),
        "disable_cache_after_step": Param(int, -1, "steps from this index on are always computed; "
                                          "-1 = never", min=-1),
        "max_order": Param(int, 1, "highest Taylor order", min=0, max=4),
        "factors_dtype": Param(str, "bfloat16", "dtype the Taylor factors are kept in",
                               choices=FACTOR_DTYPES),
        "lite": Param(bool, False, "TaylorSeer-Lite: skip whole blocks, predict only proj_out "
                      "(far less memory)"),
    }

    def supports(self, family: ModelFamily, params: Mapping[str, Any]) -> str | None:
        return no_cache_api(family, "TaylorSeer")

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        import torch
        from diffusers import TaylorSeerCacheConfig
        from diffusers.hooks.taylorseer_cache import TaylorSeerCacheHook

        after = params["disable_cache_after_step"]
        pipe.transformer.enable_cache(TaylorSeerCacheConfig(
            cache_interval=params["cache_interval"],
            disable_cache_before_step=params["disable_cache_before_step"],
            disable_cache_after_step=None if after < 0 else after,
            max_order=params["max_order"],
            taylor_factors_dtype=getattr(torch, params["factors_dtype"]),
            use_lite_mode=params["lite"],
        ))
        counter = StepCounter()
        counted = count_first_hook(pipe.transformer, TaylorSeerCacheHook, counter)
        return Applied(counter=counter, notes={"counted_module": counted})
