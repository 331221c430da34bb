"""Stable Diffusion 3.5 (large, medium): classifier-free guidance with a negative prompt.

Defaults follow SD3.5-large's model card (28 steps, guidance 3.5, 1024x1024); the pipeline's
own guidance default (7.0) is SD3-medium's. Its MMDiT blocks are diffusers'
``JointTransformerBlock``, which diffusers' block hooks know.
"""

from __future__ import annotations

from evalsuite.models.families.base import Defaults, Family, register


@register
class SD35(Family):
    """SD3.5: ``StableDiffusion3Pipeline``."""

    name = "sd35"
    title = "SD3.5"
    pipelines = ("StableDiffusion3Pipeline",)
    defaults = Defaults(steps=28, guidance=3.5, height=1024, width=1024)
    takes_negative_prompt = True
    hookable = True  # JointTransformerBlock
    modulated_norm1 = True  # JointTransformerBlock.norm1: AdaLayerNormZero, as FLUX.1's
    # No diffusers_caches: SD3Transformer2DModel is no CacheMixin in diffusers 0.42.1.
    cache_dit = True  # cache-dit's "StableDiffusion3" adapter
    # Measured by the support matrix (docs/SUPPORT.md, python -m evalsuite.models.support).
    refused = {
        "attention_backend": "SD3.5's attention processors (JointAttnProcessor2_0) call torch's SDPA "
                             "themselves, not diffusers' attention dispatcher, so there is no backend "
                             "to set (diffusers 0.42.1)",
    }
