"""``tiny-qwen-image``: a tiny Qwen-Image (``QwenImagePipeline``).

Shapes follow diffusers' tests/pipelines/qwenimage/test_qwenimage.py: a Qwen2.5-VL text
encoder of 2 layers at 16-d, a ``QwenImageTransformer2DModel`` (here 4 layers of 4 heads of
16), and the test's Wan-style VAE cut to one downsampling stage, so that a 32² image is 64
tokens as in the other tiny families. The tokenizer is the byte-level Qwen2 one.
"""

from __future__ import annotations

from typing import Any

from evalsuite.models.tiny.timesteps import low_pass_timestep
from evalsuite.models.tiny.tokenizers import qwen2_tokenizer

PIPELINE = "QwenImagePipeline"
# Bump when the architecture or tokenizer below change, so old caches are not reused.
VERSION = 1
TEXT_WIDTH = 16
# Qwen/Qwen-Image's scheduler/scheduler_config.json.
SCHEDULER = dict(
    base_image_seq_len=256, base_shift=0.5, max_image_seq_len=8192, max_shift=0.9, shift=1.0,
    shift_terminal=0.02, time_shift_type="exponential", use_dynamic_shifting=True,
)


def build(seed: int = 0) -> Any:
    """Build the tiny Qwen-Image pipeline in memory, every module initialised from ``seed``."""
    import torch
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImagePipeline,
        QwenImageTransformer2DModel,
    )
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tokenizer = qwen2_tokenizer()
    torch.manual_seed(seed)
    transformer = QwenImageTransformer2DModel(
        patch_size=2, in_channels=16, out_channels=4, num_layers=4, attention_head_dim=16,
        num_attention_heads=4, joint_attention_dim=TEXT_WIDTH, guidance_embeds=False,
        axes_dims_rope=(8, 4, 4),
    )
    torch.manual_seed(seed + 1)
    # One downsampling stage (dim_mult of 2): 32² pixels -> 16² latents of 4 channels,
    # which the pipeline packs 2x2 into 64 tokens of 16 channels.
    vae = AutoencoderKLQwenImage(
        base_dim=24, z_dim=4, dim_mult=[1, 2], num_res_blocks=1, temperal_downsample=[False],
        latents_mean=[0.0] * 4, latents_std=[1.0] * 4,
    )
    torch.manual_seed(seed + 2)
    # The vision tokens' ids are our tokenizer's (the test's config names the real vocabulary's).
    vision = {"vision_start_token_id": "<|vision_start|>", "vision_end_token_id": "<|vision_end|>",
              "image_token_id": "<|image_pad|>", "video_token_id": "<|video_pad|>"}
    ids = {key: tokenizer.convert_tokens_to_ids(token) for key, token in vision.items()}
    text_encoder = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=max(len(tokenizer), tokenizer.vocab_size),
            hidden_size=TEXT_WIDTH, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=2, rope_theta=1000000.0,
            rope_scaling={"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
        ),
        vision_config=dict(depth=2, hidden_size=16, intermediate_size=16, num_heads=2,
                           out_hidden_size=TEXT_WIDTH),
        hidden_size=TEXT_WIDTH, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        **ids,
    ))
    # Without this, block 0's residual changes by 34-55% per step at 8 steps (6-12% with it).
    low_pass_timestep(transformer.time_text_embed.timestep_embedder.linear_1)
    for module in (transformer, vae, text_encoder):
        module.eval()
    return QwenImagePipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(**SCHEDULER),
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer,
    )
