"""Qwen-Image: true classifier-free guidance (``true_cfg_scale``) with a negative prompt.

``QwenImagePipeline`` runs CFG only when ``true_cfg_scale > 1`` *and* a negative prompt is
given, so the family sends Qwen-Image's own default negative prompt (a single space, as the
model card's example does) unless ``[model] negative_prompt`` says otherwise. Its
``guidance_scale`` is for guidance-distilled checkpoints and stays at the pipeline's default.
Defaults: the pipeline's 50 steps and true CFG 4.0, at 1328x1328 (the model card's 1:1 size).
The Lightning LoRA runs at ``guidance = 1.0`` (no CFG) and 8 or 4 steps.
"""

from __future__ import annotations

from evalsuite.models.families.base import Defaults, Family, register

# Both attention caches keep state per module, not per cache context.
_ONE_STATE = ("diffusers 0.42.1's {} keeps one state per module for every cache context, and "
              "Qwen-Image's true CFG calls the transformer twice per step (cond, then uncond): it hands "
              "one pass's attention to the other (a shape error when the prompts' token counts differ)")


@register
class QwenImage(Family):
    """Qwen-Image: ``QwenImagePipeline``."""

    name = "qwen_image"
    title = "Qwen-Image"
    pipelines = ("QwenImagePipeline",)
    defaults = Defaults(steps=50, guidance=4.0, height=1328, width=1328)
    guidance_name = "true_cfg_scale"
    takes_negative_prompt = True
    default_negative_prompt = " "
    hookable = True  # QwenImageTransformerBlock
    diffusers_caches = True
    cache_dit = True
    # Measured by the support matrix (docs/SUPPORT.md, python -m evalsuite.models.support).
    refused = {
        "fastercache": _ONE_STATE.format("FasterCache"),
        "pab": _ONE_STATE.format("Pyramid Attention Broadcast"),
        "fuse_qkv": "diffusers 0.42.1's fuse_qkv_projections() fuses only attention modules of its "
                    "newer AttentionModuleMixin kind, and Qwen-Image's are the older Attention class: it "
                    "fuses none",
    }
