"""``tiny-hidream``: a tiny HiDream-I1 (``HiDreamImagePipeline``).

Shapes follow diffusers' tests/pipelines/hidream_image/test_pipeline_hidream.py: four text
encoders (two CLIP with projection for the pooled vector, a T5 and a Llama whose hidden
states feed the blocks one layer each), and a transformer of double- then single-stream
blocks with mixture-of-experts feed-forwards (here 1 + 3 blocks of 4 heads of 16, 4 experts
of which 2 are active). The scheduler is HiDream-I1-Full's (flow UniPC, shift 3).

The pipeline rescales every request to the area of ``default_sample_size`` (128, fixed in
its ``__init__``) latent pixels squared, aspect kept: 1024² for HiDream-I1's 8x VAE. So this
one's VAE does not downsample (a 128² image, the smallest the pipeline makes) and its
transformer takes 16x16 patches, 64 tokens as in the other tiny families; a request whose
rescaled latent is not a multiple of 16 (not square) fails in the transformer's patchify.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from evalsuite.models.tiny.timesteps import low_pass_timestep
from evalsuite.models.tiny.tokenizers import clip_tokenizer, llama3_tokenizer, t5_tokenizer

PIPELINE = "HiDreamImagePipeline"
# Bump when the architecture or tokenizers below change, so old caches are not reused.
VERSION = 3  # 2: 1 + 3 blocks (were 2 + 4), ~40% faster; 3: 2 + 2, as cache-dit's Fn counts
# double blocks and must stay below their number (the support matrix failed at 1)
DOUBLE, SINGLE = 2, 2
PATCH = 16
CLIP_WIDTH, T5_WIDTH, LLAMA_WIDTH, LLAMA_LAYERS = 32, 32, 16, 3
CLIP_POSITIONS = 218
# The Llama hidden state each block reads (its own list entry, double blocks first): every
# layer once, then the last one repeated, as HiDream-I1 reads 32 Llama layers in 48 blocks.
LLAMA_PER_BLOCK = tuple(min(i, LLAMA_LAYERS - 1) for i in range(DOUBLE + SINGLE))


def build(seed: int = 0) -> Any:
    """Build the tiny HiDream pipeline in memory, every module initialised from ``seed``."""
    import torch
    from diffusers import (
        AutoencoderKL,
        HiDreamImagePipeline,
        HiDreamImageTransformer2DModel,
        UniPCMultistepScheduler,
    )
    from transformers import (
        CLIPTextConfig,
        CLIPTextModelWithProjection,
        LlamaConfig,
        LlamaForCausalLM,
        T5Config,
        T5EncoderModel,
    )

    with tempfile.TemporaryDirectory() as scratch:
        # The pipeline pads CLIP's input to min(max_sequence_length, 218) tokens, past 77.
        tokenizer = clip_tokenizer(Path(scratch) / "clip", model_max_length=CLIP_POSITIONS)
        tokenizer_3 = t5_tokenizer(Path(scratch) / "t5")
    tokenizer_4 = llama3_tokenizer()
    torch.manual_seed(seed)
    transformer = HiDreamImageTransformer2DModel(
        patch_size=PATCH, in_channels=4, out_channels=4, num_layers=DOUBLE, num_single_layers=SINGLE,
        attention_head_dim=16, num_attention_heads=4, caption_channels=[T5_WIDTH, LLAMA_WIDTH],
        text_emb_dim=2 * CLIP_WIDTH, num_routed_experts=4, num_activated_experts=2,
        axes_dims_rope=(8, 4, 4), max_resolution=(128, 128), llama_layers=LLAMA_PER_BLOCK,
    )
    torch.manual_seed(seed + 1)
    # One stage, no mid-block attention (at 128² it would attend over 16384 positions).
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",), block_out_channels=(16,), layers_per_block=1,
        norm_num_groups=8, sample_size=128, mid_block_add_attention=False,
        scaling_factor=0.3611, shift_factor=0.1159,
    )
    clip_config = CLIPTextConfig(
        vocab_size=max(len(tokenizer), tokenizer.vocab_size), hidden_size=CLIP_WIDTH,
        intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=CLIP_POSITIONS,
        projection_dim=CLIP_WIDTH, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModelWithProjection(clip_config)
    torch.manual_seed(seed + 3)
    text_encoder_2 = CLIPTextModelWithProjection(clip_config)
    torch.manual_seed(seed + 4)
    text_encoder_3 = T5EncoderModel(T5Config(
        vocab_size=max(len(tokenizer_3), tokenizer_3.vocab_size), d_model=T5_WIDTH, d_ff=64,
        d_kv=8, num_heads=4, num_layers=2, decoder_start_token_id=0,
    ))
    torch.manual_seed(seed + 5)
    text_encoder_4 = LlamaForCausalLM(LlamaConfig(
        vocab_size=max(len(tokenizer_4), tokenizer_4.vocab_size), hidden_size=LLAMA_WIDTH,
        intermediate_size=32, num_hidden_layers=LLAMA_LAYERS, num_attention_heads=2,
        num_key_value_heads=2, head_dim=8, max_position_embeddings=1024,
        bos_token_id=tokenizer_4.bos_token_id, eos_token_id=tokenizer_4.eos_token_id,
        pad_token_id=tokenizer_4.eos_token_id,
    ))
    # Without this, block 0's residual changes by 35-56% per step at 8 steps (4-14% with it).
    low_pass_timestep(transformer.t_embedder.timestep_embedder.linear_1)
    for module in (transformer, vae, text_encoder, text_encoder_2, text_encoder_3, text_encoder_4):
        module.eval()
    return HiDreamImagePipeline(
        scheduler=UniPCMultistepScheduler(
            flow_shift=3.0, prediction_type="flow_prediction", use_flow_sigmas=True),
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer, text_encoder_3=text_encoder_3, tokenizer_3=tokenizer_3,
        text_encoder_4=text_encoder_4, tokenizer_4=tokenizer_4, transformer=transformer,
    )
