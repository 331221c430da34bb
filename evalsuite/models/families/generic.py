"""Any other ``DiffusionPipeline``: the baseline and model-independent techniques only.

No adapter describes its blocks or its numbers, so every technique that picks modules by
the model's layout is refused before anything runs (``known = False``); quantization,
compile, channels-last and attention backends still run. It is called with the arguments
diffusers' text-to-image pipelines share. Its defaults are FLUX.1-dev-like (28 steps,
guidance 3.5, 1024x1024): set ``[model]`` steps, guidance and size for the model at hand.
"""

from __future__ import annotations

from typing import Any

from evalsuite.models.families.base import DIFFUSERS_BLOCK_LISTS, Defaults, Family, register


@register
class Generic(Family):
    """A pipeline no family adapter serves."""

    name = "generic"
    title = "an unknown pipeline"
    pipelines = ()
    defaults = Defaults(steps=28, guidance=3.5, height=1024, width=1024)
    block_attrs = DIFFUSERS_BLOCK_LISTS
    takes_negative_prompt = True  # only sent when [model] negative_prompt gives one
    known = False

    def named_transformers(self, pipe: Any) -> dict[str, Any]:
        """Its transformer, or its UNet for an older pipeline."""
        return {name: m for name in ("transformer", "unet") if (m := getattr(pipe, name, None)) is not None}
