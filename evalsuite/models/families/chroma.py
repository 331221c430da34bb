"""Chroma: a FLUX.1-schnell derivative with real classifier-free guidance and a negative prompt.

Defaults are ``ChromaPipeline``'s own (35 steps, guidance 5.0) at 1024x1024. Its blocks keep
FLUX's double/single layout but take pruned, per-block modulation, so FLUX.1-only techniques
(TeaCache's rule, the ParaAttention adapter) do not fit, and diffusers' block registry
(0.42.1) lists no Chroma block.
"""

from __future__ import annotations

from evalsuite.models.families.base import Defaults, Family, register


@register
class Chroma(Family):
    """Chroma: ``ChromaPipeline``."""

    name = "chroma"
    title = "Chroma"
    pipelines = ("ChromaPipeline",)
    defaults = Defaults(steps=35, guidance=5.0, height=1024, width=1024)
    block_attrs = ("transformer_blocks", "single_transformer_blocks")
    takes_negative_prompt = True
    # No diffusers_caches: its transformer is a CacheMixin, but ChromaPipeline (0.42.1) opens no
    # cache_context around the transformer, and diffusers' cache hooks need one.
    cache_dit = True
