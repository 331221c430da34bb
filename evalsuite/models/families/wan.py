"""Wan 2.1 and Wan 2.2 text-to-video (``WanPipeline``).

Wan 2.1 (``Wan-AI/Wan2.1-T2V-1.3B-Diffusers``, ``Wan-AI/Wan2.1-T2V-14B-Diffusers``) runs one
``WanTransformer3DModel``. Wan 2.2 T2V-A14B (``Wan-AI/Wan2.2-T2V-A14B-Diffusers``) is the same
pipeline class with two experts: ``transformer`` denoises the high-noise steps and
``transformer_2`` the low-noise ones, switched where the timestep falls below
``boundary_ratio * 1000`` (0.875 in its ``model_index.json``). Each expert is a transformer of
its own to every cache: each gets its own hooks and state, its computed and skipped steps are
counted apart, and a cache can be inert on one expert and not the other.

Both run classifier-free guidance (two transformer calls per step, in diffusers' "cond" and
"uncond" cache contexts) with the pipeline's empty negative prompt unless ``[model]
negative_prompt`` gives one. The suite's ``guidance`` goes to both of Wan 2.2's experts
(diffusers' default when ``guidance_scale_2`` is not given; the model card's 4.0/3.0 split is not
reproduced). Defaults are each model card's: Wan 2.1 50 steps, guidance 5.0, 480x832; Wan 2.2
40 steps, guidance 4.0, 720x1280; both 81 frames at 16 fps. Frames must be 4k+1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from evalsuite.models.families.base import Defaults, register
from evalsuite.models.families.video import VideoDefaults, VideoFamily


class _Wan(VideoFamily):
    pipelines = ("WanPipeline",)
    block_attrs = ("blocks",)
    video = VideoDefaults(frames=81, fps=16)
    takes_negative_prompt = True
    hookable = True  # WanTransformerBlock is in diffusers' TransformerBlockRegistry
    diffusers_caches = True  # WanTransformer3DModel is a CacheMixin; the pipeline opens contexts
    # Block 0's modulated input is computed by ``modulated_input`` below (TeaCache's signal).
    modulated_norm1 = True
    # Measured by the support matrix (docs/SUPPORT.md, python -m evalsuite.models.support).
    refused = {"taylorseer": "diffusers 0.42.1's TaylorSeer matches its modules by FLUX-style names and "
                             "finds none in WanTransformer3DModel (no TaylorSeerCacheHook is attached)"}

    two_experts: ClassVar[bool] = False

    def serves(self, index: Mapping[str, Any]) -> bool:
        """A ``WanPipeline`` whose index names a ``transformer_2`` (Wan 2.2) or not (Wan 2.1)."""
        expert = index.get("transformer_2")
        has_two = isinstance(expert, list | tuple) and bool(expert) and expert[0] is not None
        return index.get("_class_name") in self.pipelines and has_two == self.two_experts

    def named_transformers(self, pipe: Any) -> dict[str, Any]:
        """``transformer``, and for Wan 2.2 its low-noise expert ``transformer_2``."""
        named = {"transformer": pipe.transformer}
        if getattr(pipe, "transformer_2", None) is not None:
            named["transformer_2"] = pipe.transformer_2
        return named

    def step_ranges(self, pipe: Any, steps: int) -> dict[str, range]:
        """Wan 2.2: the high-noise expert denoises the steps whose timestep is at or above the
        boundary (``WanPipeline``'s own rule), the low-noise expert the rest."""
        if getattr(pipe, "transformer_2", None) is None or pipe.config.boundary_ratio is None:
            return {"transformer": range(steps)}
        boundary = pipe.config.boundary_ratio * pipe.scheduler.config.num_train_timesteps
        high = sum(1 for t in pipe.scheduler.timesteps[:steps] if t >= boundary)
        return {"transformer": range(high), "transformer_2": range(high, steps)}

    @staticmethod
    def modulated_input(block: Any, hidden: Any, temb: Any) -> Any:
        """Block 0's timestep-modulated input, as ``WanTransformerBlock.forward`` computes it
        before self-attention (TeaCache4Wan2.1 decides on the same tensor)."""
        table = block.scale_shift_table + temb.float()
        shift, scale = (table.chunk(6, dim=2) if temb.ndim == 4 else table.chunk(6, dim=1))[:2]
        if temb.ndim == 4:  # Wan 2.2 TI2V: one modulation per token
            shift, scale = shift.squeeze(2), scale.squeeze(2)
        return (block.norm1(hidden.float()) * (1 + scale) + shift).type_as(hidden)


@register
class Wan(_Wan):
    """Wan 2.1: ``WanPipeline`` with one transformer."""

    name = "wan"
    title = "Wan 2.1"
    defaults = Defaults(steps=50, guidance=5.0, height=480, width=832)


@register
class Wan22(_Wan):
    """Wan 2.2 A14B: ``WanPipeline`` with two experts and a boundary.

    Both adapters serve ``WanPipeline``; detection from ``model_index.json`` picks this one
    when the index names a ``transformer_2`` (:meth:`serves`).
    """

    name = "wan22"
    title = "Wan 2.2"
    defaults = Defaults(steps=40, guidance=4.0, height=720, width=1280)
    two_experts = True
    # Techniques that change ``pipe.transformer`` only: the low-noise expert would run without
    # them, and the variant would be half accelerated. FBCache, TeaCache, MagCache, torchao and
    # context parallelism apply to each expert (``named_transformers``).
    refused = dict.fromkeys(
        ("taylorseer", "fastercache", "pab", "cache_dit", "para_attn", "compile", "attention_backend",
         "fuse_qkv"),
        "applies to pipe.transformer only in evalsuite, and Wan 2.2's low-noise expert "
        "(transformer_2) would run without it")
