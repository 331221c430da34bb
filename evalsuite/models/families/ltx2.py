"""LTX-2 (``LTX2Pipeline``, ``Lightricks/LTX-2``): text to video, the video only.

LTX-2 generates a clip and its audio track together; evalsuite keeps the frames and ignores
the audio (``decoded`` returns ``output.frames[0]``; the pipeline still denoises and decodes the
audio, so latencies include it). Unlike the other families, its ``frame_rate`` argument changes
the clip (it positions the frames in time), so ``[model] fps`` is sent as ``frame_rate``.
Defaults are the pipeline's and its model card's: 30 steps, guidance 3.0, 512x768, 121 frames
at 24 fps; frames must be 8k+1 (its VAE compresses time 8x). In diffusers 0.42.1 its blocks are
not in ``TransformerBlockRegistry`` (no block cache hooks them).
"""

from __future__ import annotations

from typing import Any

from evalsuite.models.families.base import Defaults, register
from evalsuite.models.families.video import VideoDefaults, VideoFamily
from evalsuite.suite.types import ModelSpec


@register
class LTX2(VideoFamily):
    """LTX-2: ``LTX2Pipeline`` (video only; its audio is ignored)."""

    name = "ltx2"
    title = "LTX-2"
    pipelines = ("LTX2Pipeline",)
    defaults = Defaults(steps=30, guidance=3.0, height=512, width=768)
    video = VideoDefaults(frames=121, fps=24)
    temporal_factor = 8
    takes_negative_prompt = True
    diffusers_caches = True  # a CacheMixin transformer, and the pipeline opens cache contexts
    # Measured by the support matrix (docs/SUPPORT.md, python -m evalsuite.models.support): its
    # blocks attend video, audio and across them, with different sizes.
    refused = {
        "fastercache": "diffusers 0.42.1's FasterCache fails on its blocks with an AssertionError (its "
                       "batched cond/uncond pass and the extra guidance passes do not match FasterCache's "
                       "CFG layout)",
        "pab": "diffusers 0.42.1's Pyramid Attention Broadcast hands one attention's output to another of "
               "another size (video, audio and audio-video attention share its state): a shape error",
        "fuse_qkv": "diffusers 0.42.1's fuse_qkv_projections() fuses its audio-video cross-attention, whose "
                    "query and key sizes differ: the fused projection fails",
    }

    def call_kwargs(self, model: ModelSpec, prompt: str, seed: int) -> dict[str, Any]:
        """The video arguments plus ``frame_rate`` (``[model] fps``), which shapes the clip."""
        return {**super().call_kwargs(model, prompt, seed), "frame_rate": float(model.fps or self.video.fps)}
