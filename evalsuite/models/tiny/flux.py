"""``tiny-flux`` (alias ``tiny``, the default model): a tiny, randomly initialised but real FLUX.1.

Nothing can be downloaded here or in CI, so the default suite runs on a `FluxPipeline`
whose transformer, VAE, CLIP and T5 are tiny and whose tokenizers are written locally.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from evalsuite.models.tiny.tokenizers import clip_tokenizer, t5_tokenizer

PIPELINE = "FluxPipeline"
# Bump when the architecture or tokenizers below change, so old caches are not reused.
VERSION = 1


def build(seed: int = 0) -> Any:
    """Build the tiny FLUX pipeline in memory, every module initialised from ``seed``."""
    import torch
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        FluxPipeline,
        FluxTransformer2DModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = clip_tokenizer(Path(scratch) / "clip")
        tokenizer_2 = t5_tokenizer(Path(scratch) / "t5")

    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=16, num_layers=2, num_single_layers=4,
        attention_head_dim=32, num_attention_heads=4, joint_attention_dim=64,
        pooled_projection_dim=64, guidance_embeds=True, axes_dims_rope=(8, 12, 12),
    )
    torch.manual_seed(seed + 1)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8, sample_size=64,
        use_quant_conv=False, use_post_quant_conv=False,
        shift_factor=0.0609, scaling_factor=1.5035,
    )
    torch.manual_seed(seed + 2)
    clip_vocab = max(len(tokenizer), tokenizer.vocab_size)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=clip_vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    ))
    torch.manual_seed(seed + 3)
    text_encoder_2 = T5EncoderModel(T5Config(
        vocab_size=max(len(tokenizer_2), tokenizer_2.vocab_size), d_model=64, d_ff=128,
        d_kv=16, num_heads=4, num_layers=2, decoder_start_token_id=0,
    ))
    # Random init makes block 0's residual jump ~40% between denoising steps whatever the
    # latents do, so no realistic cache threshold would ever skip. Damping the timestep
    # embedding gives step-to-step changes of ~4-11%, the range a trained FLUX shows.
    with torch.no_grad():
        transformer.time_text_embed.timestep_embedder.linear_2.weight.mul_(0.1)
    # Models built from configs start in train mode (T5 dropout would make runs random).
    for module in (transformer, vae, text_encoder, text_encoder_2):
        module.eval()
    return FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=False),
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, transformer=transformer,
    )
