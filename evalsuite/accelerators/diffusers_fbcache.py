"""diffusers' built-in First Block Cache (``transformer.enable_cache(FirstBlockCacheConfig)``).

The decision whether to run the remaining blocks is made by the head block's hook. We wrap
that hook instance's decision method to count computed and skipped steps; the algorithm
itself is diffusers' own and untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalsuite.accelerators.base import (
    ORDER_CACHE,
    Accelerator,
    Applied,
    ModelFamily,
    Param,
    StepCounter,
    expert_counters,
    register,
    transformers_of,
    unhookable,
)


def count_fbc_decisions(transformer: Any, counter: StepCounter) -> None:
    """Count each head-block decision of diffusers' FBC hooks on ``transformer``."""
    from diffusers.hooks.first_block_cache import FBCHeadBlockHook

    hooks = [
        hook
        for module in transformer.modules()
        if (registry := getattr(module, "_diffusers_hook", None)) is not None
        for hook in registry.hooks.values()
        if isinstance(hook, FBCHeadBlockHook)
    ]
    if len(hooks) != 1:
        raise RuntimeError(f"expected one First Block Cache head hook, found {len(hooks)}")
    hook = hooks[0]
    decide = hook._should_compute_remaining_blocks

    def counted(residual: Any) -> bool:
        should_compute = decide(residual)
        counter.record(bool(should_compute))
        return should_compute

    hook._should_compute_remaining_blocks = counted


@register
class DiffusersFirstBlockCache(Accelerator):
    """First Block Cache as shipped in diffusers' hooks."""

    name = "fbcache"
    family = "cache"
    order = ORDER_CACHE
    description = (
        "diffusers FirstBlockCache: skip the remaining blocks while the first block's "
        "residual changes less than `threshold` (relative L1) since the last computed step"
    )
    params = {
        "threshold": Param(float, 0.05, "relative-L1 residual change below which a step is "
                           "served from cache; 0 never skips", min=0.0),
    }

    def supports(self, family: ModelFamily, params: Mapping[str, Any]) -> str | None:
        return unhookable(family, "FirstBlockCache")

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        from diffusers.hooks import FirstBlockCacheConfig

        named = transformers_of(self.model_family, pipe)
        counter, experts = expert_counters(named)
        for name, transformer in named.items():  # Wan 2.2: each expert caches on its own
            transformer.enable_cache(FirstBlockCacheConfig(threshold=params["threshold"]))
            count_fbc_decisions(transformer, experts[name])
        return Applied(counter=counter, experts=experts if len(named) > 1 else {})
