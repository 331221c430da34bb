"""HunyuanVideo-1.5 text-to-video (``HunyuanVideo15Pipeline``).

Checkpoints: ``hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-480p_t2v`` (and ``-720p_t2v``),
the Diffusers layout of Tencent's HunyuanVideo-1.5 (diffusers' model docs name these ids; its
pipeline docstring writes ``HunyuanVideo-1.5-480p_t2v``). Its guidance is not a call argument:
the pipeline holds a ``guider`` (classifier-free guidance, 6.0 in the checkpoint), which
:meth:`HunyuanVideo15.prepare` replaces with ``guider.new(guidance_scale=...)`` when the suite's
``guidance`` differs, as diffusers' docs do. Cond and uncond run as two transformer calls in the
"pred_cond"/"pred_uncond" cache contexts. Defaults: 50 steps, guidance 6.0, 480x848 (its 480p
16:9 size), 121 frames at 24 fps; frames must be 4k+1 (its VAE compresses time 4x).

In diffusers 0.42.1 its blocks are not in ``TransformerBlockRegistry`` (no block cache hooks
them) and its transformer has no context-parallel plan.
"""

from __future__ import annotations

from typing import Any

from evalsuite.models.families.base import Defaults, register
from evalsuite.models.families.video import VideoDefaults, VideoFamily
from evalsuite.suite.types import ModelSpec


@register
class HunyuanVideo15(VideoFamily):
    """HunyuanVideo-1.5: ``HunyuanVideo15Pipeline``."""

    name = "hunyuan_video15"
    title = "HunyuanVideo-1.5"
    pipelines = ("HunyuanVideo15Pipeline",)
    defaults = Defaults(steps=50, guidance=6.0, height=480, width=848)
    video = VideoDefaults(frames=121, fps=24)
    takes_negative_prompt = True
    guidance_in_call = False  # ``prepare`` gives it to the guider
    takes_max_sequence_length = False  # its pipeline fixes its encoders' lengths
    diffusers_caches = True  # a CacheMixin transformer, and the pipeline opens cache contexts
    # Measured by the support matrix (docs/SUPPORT.md, python -m evalsuite.models.support).
    refused = {
        "context_parallel": "diffusers 0.42.1's HunyuanVideo15Transformer3DModel has no context-parallel "
                            "plan (_cp_plan), so enable_parallelism cannot split it",
        "fuse_qkv": "diffusers 0.42.1's fuse_qkv_projections() fuses none of its attention modules (they are "
                    "the older Attention class)",
        "channels_last": "its VAE is all 3-D convolutions and no component has 2-D convolution weights to "
                         "convert to channels-last",
    }

    def call_kwargs(self, model: ModelSpec, prompt: str, seed: int) -> dict[str, Any]:
        """The video arguments without ``guidance_scale``: the pipeline's guider holds it."""
        return super().call_kwargs(model, prompt, seed)

    def prepare(self, pipe: Any, model: ModelSpec) -> None:
        """Give the pipeline's guider the suite's guidance (a new guider, as diffusers' docs do)."""
        if getattr(pipe, "guider", None) is not None and pipe.guider.guidance_scale != model.guidance:
            pipe.guider = pipe.guider.new(guidance_scale=model.guidance)
