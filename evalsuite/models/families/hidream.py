"""HiDream-I1: classifier-free guidance with a negative prompt, four text encoders.

Defaults are ``HiDreamImagePipeline``'s own (50 steps, guidance 5.0; HiDream-I1-Full) at
1024x1024; Dev and Fast are distilled siblings (guidance 0.0; 28 and 16 steps). Its blocks
sit in ``double_stream_blocks`` and ``single_stream_blocks``, names diffusers' caches do not
look for, and diffusers' block registry (0.42.1) lists none of them.
"""

from __future__ import annotations

from evalsuite.models.families.base import Defaults, Family, register


@register
class HiDream(Family):
    """HiDream-I1: ``HiDreamImagePipeline``."""

    name = "hidream"
    title = "HiDream-I1"
    pipelines = ("HiDreamImagePipeline",)
    defaults = Defaults(steps=50, guidance=5.0, height=1024, width=1024)
    block_attrs = ("double_stream_blocks", "single_stream_blocks")
    takes_negative_prompt = True
    # No diffusers_caches: HiDreamImageTransformer2DModel is no CacheMixin in diffusers 0.42.1.
    cache_dit = True
    # Measured by the support matrix (docs/SUPPORT.md, python -m evalsuite.models.support).
    refused = {
        "fuse_qkv": "HiDream-I1's transformer has no fuse_qkv_projections() in diffusers 0.42.1",
        "attention_backend": "HiDream-I1's attention processors (HiDreamAttnProcessor) call torch's SDPA "
                             "themselves, not diffusers' attention dispatcher, so there is no backend "
                             "to set (diffusers 0.42.1)",
    }
