"""``tiny-flux2``: a tiny FLUX.2 [klein], the distilled FLUX.2 that serving stacks default to.

``Flux2KleinPipeline`` rather than ``Flux2Pipeline`` (FLUX.2 [dev]): both drive the same
``Flux2Transformer2DModel``, so every cache hooks the same blocks, but [dev]'s text encoder
is Mistral 3 behind a Pixtral processor (image processor, Tekken tokenizer, chat template)
while [klein]'s is Qwen3 with a Qwen2 tokenizer, which the other Qwen families share.
``is_distilled=True`` as in FLUX.2-klein-4B/9B: one transformer pass per step, no CFG.
Shapes follow diffusers' tests/pipelines/flux2/test_pipeline_flux2_klein.py, scaled to the
tiny FLUX's (2 double-stream + 4 single-stream blocks, 4 heads of 32).
"""

from __future__ import annotations

from typing import Any

from evalsuite.models.tiny.timesteps import low_pass_timestep
from evalsuite.models.tiny.tokenizers import qwen2_tokenizer

PIPELINE = "Flux2KleinPipeline"
# Bump when the architecture or tokenizer below change, so old caches are not reused.
VERSION = 1
# The pipeline stacks the text encoder's hidden states 9, 18 and 27 by default
# (text_encoder_out_layers), so the encoder needs 27 layers for the family's natural call.
TEXT_LAYERS = 27
TEXT_WIDTH = 16


def build(seed: int = 0) -> Any:
    """Build the tiny FLUX.2 [klein] pipeline in memory, every module initialised from ``seed``."""
    import torch
    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2KleinPipeline,
        Flux2Transformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3ForCausalLM

    tokenizer = qwen2_tokenizer()
    torch.manual_seed(seed)
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=16, num_layers=2, num_single_layers=4,
        attention_head_dim=32, num_attention_heads=4, joint_attention_dim=3 * TEXT_WIDTH,
        timestep_guidance_channels=256, axes_dims_rope=(8, 8, 8, 8), guidance_embeds=False,
    )
    torch.manual_seed(seed + 1)
    # Two stages: 32² pixels -> 16² latents of 4 channels, which the pipeline packs 2x2 into
    # 64 tokens of 16 channels (the transformer's in_channels).
    vae = AutoencoderKLFlux2(
        in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8, sample_size=32,
        use_quant_conv=False, use_post_quant_conv=False,
    )
    torch.manual_seed(seed + 2)
    text_encoder = Qwen3ForCausalLM(Qwen3Config(
        vocab_size=max(len(tokenizer), tokenizer.vocab_size), hidden_size=TEXT_WIDTH,
        intermediate_size=32, num_hidden_layers=TEXT_LAYERS, num_attention_heads=2,
        num_key_value_heads=2, head_dim=8, max_position_embeddings=1024,
        bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    ))
    # Without this, block 0's residual changes by 60-150% per step at 8 steps (4-48% with it).
    low_pass_timestep(transformer.time_guidance_embed.timestep_embedder.linear_1)
    for module in (transformer, vae, text_encoder):
        module.eval()
    return Flux2KleinPipeline(
        # FLUX.2's scheduler shifts by a resolution- and step-dependent mu, which the pipeline
        # always passes.
        scheduler=FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True),
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer,
        is_distilled=True,
    )
