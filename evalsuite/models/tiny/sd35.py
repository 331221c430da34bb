"""``tiny-sd35``: a tiny Stable Diffusion 3.5 (``StableDiffusion3Pipeline``).

Shapes follow diffusers' tests/pipelines/stable_diffusion_3/test_pipeline_stable_diffusion_3.py:
two CLIP text encoders with projection and a T5 (the CLIP sequences are padded to the T5's
width and stacked with it, and the two projections make the pooled vector), an MMDiT (here
4 joint blocks of 4 heads of 16, with SD3.5's RMS q/k norm) and a VAE at two stages, so
that a 32² image is 16² latents in 2x2 patches: 64 tokens.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from evalsuite.models.tiny.timesteps import low_pass_timestep
from evalsuite.models.tiny.tokenizers import clip_tokenizer, t5_tokenizer

PIPELINE = "StableDiffusion3Pipeline"
# Bump when the architecture or tokenizers below change, so old caches are not reused.
VERSION = 1
CLIP_WIDTH = 32
T5_WIDTH = 2 * CLIP_WIDTH  # the pipeline pads both CLIP sequences, side by side, to the T5's width


def build(seed: int = 0) -> Any:
    """Build the tiny SD3.5 pipeline in memory, every module initialised from ``seed``."""
    import torch
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        SD3Transformer2DModel,
        StableDiffusion3Pipeline,
    )
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, T5Config, T5EncoderModel

    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = clip_tokenizer(Path(scratch) / "clip")
        tokenizer_3 = t5_tokenizer(Path(scratch) / "t5")

    torch.manual_seed(seed)
    transformer = SD3Transformer2DModel(
        sample_size=16, patch_size=2, in_channels=4, out_channels=4, num_layers=4,
        attention_head_dim=16, num_attention_heads=4, caption_projection_dim=64,
        joint_attention_dim=T5_WIDTH, pooled_projection_dim=2 * CLIP_WIDTH, qk_norm="rms_norm",
    )
    torch.manual_seed(seed + 1)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8, sample_size=32,
        use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.0609, scaling_factor=1.5035,
    )
    clip_config = CLIPTextConfig(
        vocab_size=max(len(tokenizer), tokenizer.vocab_size), hidden_size=CLIP_WIDTH,
        intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77,
        projection_dim=CLIP_WIDTH, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModelWithProjection(clip_config)
    torch.manual_seed(seed + 3)
    text_encoder_2 = CLIPTextModelWithProjection(clip_config)
    torch.manual_seed(seed + 4)
    text_encoder_3 = T5EncoderModel(T5Config(
        vocab_size=max(len(tokenizer_3), tokenizer_3.vocab_size), d_model=T5_WIDTH, d_ff=128,
        d_kv=16, num_heads=4, num_layers=2, decoder_start_token_id=0,
    ))
    # Without this, block 0's residual changes by 30-47% per step at 8 steps (2-12% with it).
    low_pass_timestep(transformer.time_text_embed.timestep_embedder.linear_1)
    for module in (transformer, vae, text_encoder, text_encoder_2, text_encoder_3):
        module.eval()
    return StableDiffusion3Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer,
        text_encoder_3=text_encoder_3, tokenizer_3=tokenizer_3, transformer=transformer,
    )
