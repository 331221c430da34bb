"""``tiny-sana``: a tiny Sana (``SanaPipeline``).

Shapes follow diffusers' tests/pipelines/sana/test_sana.py: a Gemma 2 text encoder, a
linear-attention ``SanaTransformer2DModel`` (here 4 blocks of 4 heads of 16) and a DC-AE
(``AutoencoderDC``), here of three stages (4x compression), so that a 32² image is 8²
latents: 64 tokens. The scheduler is the one Sana's checkpoints ship (flow DPM-Solver,
shift 3). Sana bins the requested size to its nearest trained aspect ratio unless called
with ``use_resolution_binning=False``.
"""

from __future__ import annotations

from typing import Any

from evalsuite.models.tiny.tokenizers import gemma_tokenizer

PIPELINE = "SanaPipeline"
# Bump when the architecture or tokenizer below change, so old caches are not reused.
VERSION = 2  # 2: v1 folders exist built from a draft (two Gemma layers, damped timesteps)
TEXT_WIDTH = 16


def build(seed: int = 0) -> Any:
    """Build the tiny Sana pipeline in memory, every module initialised from ``seed``."""
    import torch
    from diffusers import AutoencoderDC, DPMSolverMultistepScheduler, SanaPipeline, SanaTransformer2DModel
    from transformers import Gemma2Config, Gemma2Model

    tokenizer = gemma_tokenizer()
    torch.manual_seed(seed)
    transformer = SanaTransformer2DModel(
        patch_size=1, in_channels=4, out_channels=4, num_layers=4, num_attention_heads=4,
        attention_head_dim=16, num_cross_attention_heads=4, cross_attention_head_dim=16,
        cross_attention_dim=64, caption_channels=TEXT_WIDTH, sample_size=16,
    )
    torch.manual_seed(seed + 1)
    vae = AutoencoderDC(
        in_channels=3, latent_channels=4, attention_head_dim=2,
        encoder_block_types=("ResBlock", "ResBlock", "EfficientViTBlock"),
        decoder_block_types=("ResBlock", "ResBlock", "EfficientViTBlock"),
        encoder_block_out_channels=(8, 16, 16), decoder_block_out_channels=(8, 16, 16),
        encoder_qkv_multiscales=((), (), (5,)), decoder_qkv_multiscales=((), (), (5,)),
        encoder_layers_per_block=(1, 1, 1), decoder_layers_per_block=(1, 1, 1),
        downsample_block_type="conv", upsample_block_type="interpolate",
        decoder_norm_types="rms_norm", decoder_act_fns="silu", scaling_factor=0.41407,
    )
    torch.manual_seed(seed + 2)
    # One layer, as the test's: Gemma 2 runs eager attention only (soft-capping), and Sana's
    # default instruction makes ~1360 byte-level tokens, encoded for the prompt and the negative.
    text_encoder = Gemma2Model(Gemma2Config(
        vocab_size=max(len(tokenizer), tokenizer.vocab_size), hidden_size=TEXT_WIDTH, head_dim=8,
        intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
        max_position_embeddings=8192, attn_implementation="eager",
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    ))
    # No damping: Sana's blocks (PixArt's AdaLN-single) already change by 2-3% per step.
    for module in (transformer, vae, text_encoder):
        module.eval()
    return SanaPipeline(
        scheduler=DPMSolverMultistepScheduler(
            flow_shift=3.0, use_flow_sigmas=True, prediction_type="flow_prediction"),
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer,
    )
