"""Sana: classifier-free guidance with a negative prompt (the pipeline's default is "").

Defaults are ``SanaPipeline``'s own (20 steps, guidance 4.5, 1024x1024). Resolution binning
is turned off: with it, Sana generates at the nearest size of its aspect-ratio table and
resizes to the one asked for, which no other family does, so sizes would not mean the same.
"""

from __future__ import annotations

from evalsuite.models.families.base import Defaults, Family, register


@register
class Sana(Family):
    """Sana: ``SanaPipeline``."""

    name = "sana"
    title = "Sana"
    pipelines = ("SanaPipeline",)
    defaults = Defaults(steps=20, guidance=4.5, height=1024, width=1024)
    takes_negative_prompt = True
    default_negative_prompt = ""
    extra_kwargs = {"use_resolution_binning": False}
    # No diffusers_caches (SanaTransformer2DModel is no CacheMixin) and not hookable
    # (SanaTransformerBlock is not in the block registry), diffusers 0.42.1.
    cache_dit = True
    # Measured by the support matrix (docs/SUPPORT.md, python -m evalsuite.models.support).
    refused = {
        "fuse_qkv": "diffusers 0.42.1's fuse_qkv_projections() fuses only attention modules of its "
                    "newer AttentionModuleMixin kind, and Sana's are the older Attention class: it "
                    "fuses none",
        "attention_backend": "Sana's attention processors (SanaLinearAttnProcessor2_0, "
                             "SanaAttnProcessor2_0) call torch's SDPA themselves, not diffusers' "
                             "attention dispatcher, so there is no backend to set (diffusers 0.42.1)",
    }
