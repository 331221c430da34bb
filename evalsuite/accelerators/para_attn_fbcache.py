"""ParaAttention's First Block Cache (the seeds' own implementation) through a small adapter.

Upstream 0.3.38 fails on diffusers >= 0.35: its ``CachedTransformerBlocks`` calls FLUX's
single blocks the old way (concatenated text+image tokens, one tensor back), while diffusers
now passes ``encoder_hidden_states`` separately and gets ``(encoder, hidden)`` back. Its
``apply_cache_on_pipe`` also patches ``FluxPipeline.__call__`` on the class, capturing the
first threshold for every later pipeline, with no undo.

The adapter keeps everything that defines the algorithm from ParaAttention itself: the cache
context and its buffers, ``get_can_use_cache`` (relative mean-abs change of the first
block's residual against the threshold), ``mark_step_begin`` and the residual bookkeeping in
``CachedTransformerBlocks.forward``. It replaces only:

* ``call_remaining_transformer_blocks``, to call single blocks with today's signature;
* the pipeline-class patch, by a context that belongs to this transformer instance and is
  renewed whenever the scheduler's timesteps are set (once per pipeline call), so each
  variant's threshold is its own and the patch can be removed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from evalsuite.accelerators.base import (
    ORDER_CACHE,
    Accelerator,
    Applied,
    ModelFamily,
    Param,
    StepCounter,
    register,
    unchecked,
)


def _cached_blocks_class() -> type:
    """Subclass ParaAttention's cached blocks (imported lazily: para-attn is optional)."""
    from para_attn.first_block_cache import utils

    class CompatCachedTransformerBlocks(utils.CachedTransformerBlocks):
        """ParaAttention's cached blocks with diffusers >= 0.35 single-block calls."""

        counter: StepCounter | None = None
        computed = False

        def forward(self, hidden_states: Any, encoder_hidden_states: Any, *args: Any, **kwargs: Any) -> Any:
            self.computed = False  # upstream runs the remaining blocks only when it cannot use the cache
            out = super().forward(hidden_states, encoder_hidden_states, *args, **kwargs)
            if self.counter is not None:
                self.counter.record(self.computed)
            return out

        def call_remaining_transformer_blocks(self, hidden_states: Any, encoder_hidden_states: Any,
                                              *args: Any, **kwargs: Any) -> tuple[Any, Any, Any, Any]:
            self.computed = True
            original_hidden, original_encoder = hidden_states, encoder_hidden_states
            for block in self.transformer_blocks[1:]:
                encoder_hidden_states, hidden_states = block(hidden_states, encoder_hidden_states,
                                                             *args, **kwargs)
            for block in self.single_transformer_blocks or ():
                encoder_hidden_states, hidden_states = block(hidden_states, encoder_hidden_states,
                                                             *args, **kwargs)
            hidden_states = hidden_states.contiguous()
            encoder_hidden_states = encoder_hidden_states.contiguous()
            return (hidden_states, encoder_hidden_states,
                    (hidden_states - original_hidden).contiguous(),
                    (encoder_hidden_states - original_encoder).contiguous())

    return CompatCachedTransformerBlocks


class ParaAttentionCache:
    """ParaAttention FBCache on one FLUX transformer instance, removable."""

    def __init__(self, pipe: Any, context_kwargs: Mapping[str, Any], counter: StepCounter) -> None:
        import torch
        from para_attn.first_block_cache import utils

        # Which models it fits is the accelerator's ``supports`` (FLUX.1's blocks), checked
        # before the worker gets here.
        self.pipe, self.transformer = pipe, pipe.transformer
        self.context_kwargs = dict(context_kwargs)
        self.context: Any = None
        blocks = _cached_blocks_class()(
            self.transformer.transformer_blocks, self.transformer.single_transformer_blocks,
            transformer=self.transformer, return_hidden_states_first=False)
        blocks.counter = counter
        cached, empty = torch.nn.ModuleList([blocks]), torch.nn.ModuleList()
        original_forward = self.transformer.forward

        @functools.wraps(original_forward)
        def forward(*args: Any, **kwargs: Any) -> Any:
            if self.context is None:  # called outside a pipeline (no timesteps set)
                self.new_context()
            # The swap is ParaAttention's own trick (upstream uses unittest.mock for it); the
            # module lists are restored even if a block raises.
            t = self.transformer
            saved = t._modules["transformer_blocks"], t._modules["single_transformer_blocks"]
            t._modules["transformer_blocks"], t._modules["single_transformer_blocks"] = cached, empty
            try:
                with utils.cache_context(self.context):
                    return original_forward(*args, **kwargs)
            finally:
                t._modules["transformer_blocks"], t._modules["single_transformer_blocks"] = saved

        set_timesteps = pipe.scheduler.set_timesteps

        @functools.wraps(set_timesteps)
        def set_timesteps_new_context(*args: Any, **kwargs: Any) -> Any:
            self.new_context()
            return set_timesteps(*args, **kwargs)

        self.transformer.forward = forward
        pipe.scheduler.set_timesteps = set_timesteps_new_context

    def new_context(self) -> None:
        """A fresh cache context (empty buffers) for the next image."""
        from para_attn.first_block_cache import utils

        self.context = utils.create_cache_context(**self.context_kwargs)

    def remove(self) -> None:
        """Restore the transformer and scheduler (instance attributes shadowed the class's)."""
        del self.transformer.forward
        del self.pipe.scheduler.set_timesteps
        self.context = None


@register
class ParaAttentionFirstBlockCache(Accelerator):
    """ParaAttention's First Block Cache, the implementation the seeds measured."""

    name = "para_attn"
    deprecated_names = ("para-attn",)
    family = "cache"
    order = ORDER_CACHE
    description = (
        "ParaAttention First Block Cache (para-attn 0.3.38 via a diffusers>=0.35 adapter): skip "
        "the remaining blocks while the first block's residual changes less than the threshold"
    )
    params = {
        "residual_diff_threshold": Param(float, 0.08, "relative mean-abs change of the first block's "
                                         "residual below which a step is served from cache; 0 never "
                                         "skips (ParaAttention's own default)", min=0.0),
        "warmup_steps": Param(int, 0, "initial steps always computed", min=0),
        "downsample_factor": Param(int, 1, "compare every k-th channel of the residual only "
                                   "(cheaper decision)", min=1, max=64),
    }

    def supports(self, family: ModelFamily, params: Mapping[str, Any]) -> str | None:
        if (why := unchecked(family, "para_attn")) is not None:
            return why
        if family.flux_blocks:
            return None
        return (f"the para_attn adapter calls FLUX.1's double and single blocks their way, and "
                f"{family.title}'s blocks are not FLUX.1's")

    def check_environment(self, params: Mapping[str, Any], env: Any) -> None:
        import importlib.util

        if importlib.util.find_spec("para_attn") is None:
            raise ValueError("needs the para-attn package (0.3.38); see docs/ACCELERATORS.md for how "
                             "to install it with pip >= 26.3")

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        counter = StepCounter()
        ParaAttentionCache(pipe, {
            "residual_diff_threshold": params["residual_diff_threshold"],
            "warmup_steps": params["warmup_steps"],
            "downsample_factor": params["downsample_factor"],
        }, counter)
        return Applied(counter=counter, notes={"para_attn_version": _version()})


def _version() -> str:
    from importlib.metadata import version

    return version("para-attn")
