"""``tiny-chroma``: a tiny Chroma (``ChromaPipeline``).

Chroma is FLUX.1-schnell without CLIP and with its per-block modulation computed once, by
a small MLP (the "approximator") from the timestep, instead of by every block. Shapes
follow diffusers' tests/pipelines/chroma/test_pipeline_chroma.py, scaled to the tiny
FLUX's: 2 double-stream + 4 single-stream blocks of 4 heads of 32, a T5 of 64-d and a VAE
at two stages (a 32² image is 64 tokens).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from evalsuite.models.tiny.timesteps import low_pass_timestep
from evalsuite.models.tiny.tokenizers import t5_tokenizer

PIPELINE = "ChromaPipeline"
# Bump when the architecture or tokenizer below change, so old caches are not reused.
VERSION = 1
T5_WIDTH = 64
APPROXIMATOR_CHANNELS = 64  # its input: timestep, guidance (a quarter each) and block index


def build(seed: int = 0) -> Any:
    """Build the tiny Chroma pipeline in memory, every module initialised from ``seed``."""
    import torch
    from diffusers import (
        AutoencoderKL,
        ChromaPipeline,
        ChromaTransformer2DModel,
        FlowMatchEulerDiscreteScheduler,
    )
    from transformers import T5Config, T5EncoderModel

    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = t5_tokenizer(Path(scratch) / "t5")
    torch.manual_seed(seed)
    transformer = ChromaTransformer2DModel(
        patch_size=1, in_channels=16, num_layers=2, num_single_layers=4, attention_head_dim=32,
        num_attention_heads=4, joint_attention_dim=T5_WIDTH, axes_dims_rope=(8, 12, 12),
        approximator_num_channels=APPROXIMATOR_CHANNELS, approximator_hidden_dim=64, approximator_layers=2,
    )
    torch.manual_seed(seed + 1)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8, sample_size=32,
        use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.0609, scaling_factor=1.5035,
    )
    torch.manual_seed(seed + 2)
    text_encoder = T5EncoderModel(T5Config(
        vocab_size=max(len(tokenizer), tokenizer.vocab_size), d_model=T5_WIDTH, d_ff=128,
        d_kv=16, num_heads=4, num_layers=2, decoder_start_token_id=0,
    ))
    # Without this, block 0's residual changes by 46-72% per step at 8 steps (7-12% with it).
    low_pass_timestep(transformer.distilled_guidance_layer.in_proj, width=APPROXIMATOR_CHANNELS // 4)
    for module in (transformer, vae, text_encoder):
        module.eval()
    return ChromaPipeline(
        # FLUX.1's resolution-dependent shift.
        scheduler=FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True),
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer,
    )
