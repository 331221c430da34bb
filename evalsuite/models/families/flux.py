"""FLUX.1 (dev, schnell): guidance-distilled, one transformer call per step, no negative prompt.

Defaults are ``FluxPipeline``'s own (28 steps, guidance 3.5), at 1024x1024 as FLUX.1-dev's
model card runs it. ``guidance`` is the distilled guidance embedding; schnell ignores it.
"""

from __future__ import annotations

from evalsuite.models.families.base import Defaults, Family, register


@register
class Flux(Family):
    """FLUX.1: ``FluxPipeline``."""

    name = "flux"
    title = "FLUX.1"
    pipelines = ("FluxPipeline",)
    defaults = Defaults(steps=28, guidance=3.5, height=1024, width=1024)
    block_attrs = ("transformer_blocks", "single_transformer_blocks")
    hookable = True
    flux_blocks = True
    modulated_norm1 = True
    diffusers_caches = True
    cache_dit = True
    # TeaCache4FLUX's rescale polynomial (teacache.py) and diffusers' FLUX_MAG_RATIOS.
    calibrated = frozenset({"teacache", "magcache"})
