"""``tiny-wan`` and ``tiny-wan22``: a tiny Wan 2.1 and a tiny Wan 2.2 (``WanPipeline``).

Shapes follow diffusers' tests/pipelines/wan/test_wan.py and test_wan_22.py: the test's Wan
VAE (8x spatial, 4x temporal compression, 16 latent channels) and ``WanTransformer3DModel``
at 2 heads of 12 (here 4 layers), with a UMT5 encoder at 32-d as the real checkpoints' (they
ship ``UMT5EncoderModel`` with a T5 tokenizer). A 9-frame 32² clip is 3 latent frames of
4x4, 12 tokens after the 2x2 patch. ``tiny-wan22`` has two experts built from different seeds
and ``boundary_ratio = 0.875`` (Wan2.2-T2V-A14B's), so at 8 steps the high-noise expert runs
the first steps and the low-noise expert the rest. The scheduler is the real checkpoints'
(UniPC on flow sigmas, shift 3.0 as Wan 2.1 1.3B's ``scheduler_config.json``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from evalsuite.models.tiny.timesteps import low_pass_timestep
from evalsuite.models.tiny.tokenizers import t5_tokenizer

PIPELINE = "WanPipeline"
# Bump when the architecture or tokenizer below change, so old caches are not reused.
VERSION = 1
TEXT_WIDTH = 32
BOUNDARY_RATIO = 0.875


def _transformer(seed: int) -> Any:
    import torch
    from diffusers import WanTransformer3DModel

    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16,
        out_channels=16, text_dim=TEXT_WIDTH, freq_dim=256, ffn_dim=32, num_layers=4,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
    )
    # Random sinusoid weights make block 0's input jump between steps as no trained Wan's does.
    low_pass_timestep(transformer.condition_embedder.time_embedder.linear_1)
    return transformer.eval()


def build(seed: int = 0, two_experts: bool = False) -> Any:
    """Build the tiny Wan pipeline in memory (two experts: Wan 2.2), initialised from ``seed``."""
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline
    from transformers import UMT5Config, UMT5EncoderModel

    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = t5_tokenizer(Path(scratch) / "t5")
    torch.manual_seed(seed + 1)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True]).eval()
    torch.manual_seed(seed + 2)
    text_encoder = UMT5EncoderModel(UMT5Config(
        vocab_size=max(len(tokenizer), tokenizer.vocab_size), d_model=TEXT_WIDTH, d_ff=64, d_kv=8,
        num_heads=4, num_layers=2, decoder_start_token_id=0,
    )).eval()
    return WanPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae,
        scheduler=UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                          flow_shift=3.0),
        transformer=_transformer(seed),
        transformer_2=_transformer(seed + 3) if two_experts else None,
        boundary_ratio=BOUNDARY_RATIO if two_experts else None,
    )
