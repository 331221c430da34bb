"""``tiny-hunyuan-video15``: a tiny HunyuanVideo-1.5 (``HunyuanVideo15Pipeline``, text to video).

Shapes follow diffusers' tests/pipelines/hunyuan_video1_5/test_hunyuan_1_5.py: a Qwen2.5-VL
text model at 16-d (the real model's first encoder, with its chat template), a T5 encoder read
through a ByT5 tokenizer (the real model's glyph encoder), the test's VAE (4x spatial, 2x temporal
compression) and a ``HunyuanVideo15Transformer3DModel`` (here 2 double-stream blocks of 2 heads of
8). Guidance is the pipeline's ``guider`` (classifier-free guidance), as the real checkpoint ships.
"""

from __future__ import annotations

from typing import Any

from evalsuite.models.tiny.timesteps import low_pass_timestep
from evalsuite.models.tiny.tokenizers import qwen2_tokenizer

PIPELINE = "HunyuanVideo15Pipeline"
# Bump when the architecture or tokenizers below change, so old caches are not reused.
VERSION = 1


def build(seed: int = 0) -> Any:
    """Build the tiny HunyuanVideo-1.5 pipeline in memory, every module initialised from ``seed``."""
    import torch
    from diffusers import (
        AutoencoderKLHunyuanVideo15,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideo15Pipeline,
        HunyuanVideo15Transformer3DModel,
    )
    from diffusers.guiders import ClassifierFreeGuidance
    from transformers import (
        ByT5Tokenizer,
        Qwen2_5_VLTextConfig,
        Qwen2_5_VLTextModel,
        T5Config,
        T5EncoderModel,
    )

    tokenizer, tokenizer_2 = qwen2_tokenizer(), ByT5Tokenizer()
    torch.manual_seed(seed)
    transformer = HunyuanVideo15Transformer3DModel(
        in_channels=9, out_channels=4, num_attention_heads=2, attention_head_dim=8, num_layers=2,
        num_refiner_layers=1, mlp_ratio=2.0, patch_size=1, patch_size_t=1, text_embed_dim=16,
        text_embed_2_dim=32, image_embed_dim=12, rope_axes_dim=(2, 2, 4), target_size=16, task_type="t2v",
    )
    low_pass_timestep(transformer.time_embed.timestep_embedder.linear_1)
    torch.manual_seed(seed + 1)
    vae = AutoencoderKLHunyuanVideo15(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 16), layers_per_block=1,
        spatial_compression_ratio=4, temporal_compression_ratio=2, downsample_match_channel=False,
        upsample_match_channel=False,
    )
    torch.manual_seed(seed + 2)
    text_encoder = Qwen2_5_VLTextModel(Qwen2_5_VLTextConfig(
        vocab_size=max(len(tokenizer), tokenizer.vocab_size), hidden_size=16, intermediate_size=16,
        num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2, rope_theta=1000000.0,
        rope_scaling={"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
    ))
    torch.manual_seed(seed + 3)
    text_encoder_2 = T5EncoderModel(T5Config(
        vocab_size=max(len(tokenizer_2), tokenizer_2.vocab_size), d_model=32, d_ff=37, d_kv=8, num_heads=4,
        num_layers=2, decoder_start_token_id=0,
    ))
    for module in (transformer, vae, text_encoder, text_encoder_2):
        module.eval()
    return HunyuanVideo15Pipeline(
        transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tokenizer,
        tokenizer_2=tokenizer_2, guider=ClassifierFreeGuidance(guidance_scale=6.0),
    )
