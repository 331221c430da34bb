"""Z-Image (and its distilled Z-Image-Turbo): classifier-free guidance with a negative prompt.

Defaults are ``ZImagePipeline``'s own (50 steps, guidance 5.0) at 1024x1024. Turbo is a
distilled sibling: it runs at ``guidance = 0.0`` (no CFG) and 8-9 steps. Caches hook the
main ``layers``; the noise and context refiners before them stay uncached, as in diffusers.
"""

from __future__ import annotations

from evalsuite.models.families.base import Defaults, Family, register


@register
class ZImage(Family):
    """Z-Image: ``ZImagePipeline``."""

    name = "z_image"
    title = "Z-Image"
    pipelines = ("ZImagePipeline",)
    defaults = Defaults(steps=50, guidance=5.0, height=1024, width=1024)
    block_attrs = ("layers",)
    takes_negative_prompt = True
    hookable = True  # ZImageTransformerBlock
    # No diffusers_caches: ZImageTransformer2DModel is no CacheMixin in diffusers 0.42.1.
    cache_dit = True
    # Measured by the support matrix (docs/SUPPORT.md, python -m evalsuite.models.support).
    refused = {
        "fuse_qkv": "Z-Image's transformer has no fuse_qkv_projections() in diffusers 0.42.1",
    }
