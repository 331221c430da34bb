"""FLUX.2: dev (``Flux2Pipeline``) and klein (``Flux2KleinPipeline``).

Defaults are the pipelines' own (50 steps, guidance 4.0) at 1024x1024. Neither takes a
negative prompt as text. FLUX.2-dev embeds ``guidance``; a step-distilled klein ignores it
(diffusers 0.42.1's docstring), so a distilled sibling sets its own ``steps`` and nothing else.
"""

from __future__ import annotations

from evalsuite.models.families.base import Defaults, Family, register


@register
class Flux2(Family):
    """FLUX.2: ``Flux2Pipeline`` and ``Flux2KleinPipeline``."""

    name = "flux2"
    title = "FLUX.2"
    pipelines = ("Flux2Pipeline", "Flux2KleinPipeline")
    defaults = Defaults(steps=50, guidance=4.0, height=1024, width=1024)
    block_attrs = ("transformer_blocks", "single_transformer_blocks")
    hookable = True  # Flux2TransformerBlock, Flux2SingleTransformerBlock
    diffusers_caches = True
    cache_dit = True  # cache-dit's "Flux" adapter matches Flux2* pipelines by name prefix
    refused = {
        # Measured on tiny-flux2 (diffusers 0.42.1): the hook subtracts the head block's
        # (encoder, hidden) output from the tail single block's lone tensor and raises.
        "fbcache": "diffusers 0.42.1's FirstBlockCache fails on FLUX.2: its single blocks return "
                   "one tensor where its double blocks return two, and the cache mixes them up",
    }
