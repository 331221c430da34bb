"""``tiny-z-image``: a tiny Z-Image (``ZImagePipeline``).

Shapes follow diffusers' tests/pipelines/z_image/test_z_image.py: a Qwen3 text encoder of 2
layers at 16-d (the pipeline reads its second-to-last hidden state), a single-stream
``ZImageTransformer2DModel`` (here 4 layers at 64-d in 4 heads, after one noise and one
context refiner layer) and a FLUX-style VAE with 16 latent channels, so a 32² image is 64
tokens. The scheduler is Z-Image's (static shift 6; Z-Image-Turbo's is 3): the same
pipeline serves both, the Turbo call being ``guidance_scale=0`` at few steps.
"""

from __future__ import annotations

from typing import Any

from evalsuite.models.tiny.timesteps import low_pass_timestep
from evalsuite.models.tiny.tokenizers import qwen2_tokenizer

PIPELINE = "ZImagePipeline"
# Bump when the architecture or tokenizer below change, so old caches are not reused.
VERSION = 1
TEXT_WIDTH = 16


def build(seed: int = 0) -> Any:
    """Build the tiny Z-Image pipeline in memory, every module initialised from ``seed``."""
    import torch
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        ZImagePipeline,
        ZImageTransformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3Model

    tokenizer = qwen2_tokenizer()
    torch.manual_seed(seed)
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,), all_f_patch_size=(1,), in_channels=16, dim=64, n_layers=4,
        n_refiner_layers=1, n_heads=4, n_kv_heads=4, norm_eps=1e-5, qk_norm=True,
        cap_feat_dim=TEXT_WIDTH, rope_theta=256.0, t_scale=1000.0, axes_dims=[8, 4, 4],
        axes_lens=[256, 32, 32],
    )
    with torch.no_grad():
        # Created with torch.empty: whatever memory held (NaN included) unless set, as the test does.
        transformer.x_pad_token.fill_(1.0)
        transformer.cap_pad_token.fill_(1.0)
    torch.manual_seed(seed + 1)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=16,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8, sample_size=32,
        scaling_factor=0.3611, shift_factor=0.1159,
    )
    torch.manual_seed(seed + 2)
    text_encoder = Qwen3Model(Qwen3Config(
        vocab_size=max(len(tokenizer), tokenizer.vocab_size), hidden_size=TEXT_WIDTH,
        intermediate_size=32, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
        head_dim=8, max_position_embeddings=1024,
        bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    ))
    # Without this, block 0's residual (of ``layers``) changes by 64-111% per step at 8 steps
    # (3-23% with it).
    low_pass_timestep(transformer.t_embedder.mlp[0])
    for module in (transformer, vae, text_encoder):
        module.eval()
    return ZImagePipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=6.0, use_dynamic_shifting=False),
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer,
    )
