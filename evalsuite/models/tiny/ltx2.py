"""``tiny-ltx2``: a tiny LTX-2 (``LTX2Pipeline``), video only.

Shapes follow diffusers' tests/pipelines/ltx2/test_ltx2.py: an ``LTX2VideoTransformer3DModel``
of 2 layers (2 heads of 8 for video, 2 of 4 for audio), the test's text connectors, video VAE
(one stage: 2x spatial, 2x temporal compression here; the real one compresses 32x and 8x), audio
VAE and vocoder, and a Gemma 3 text encoder at 32-d with a tiny SigLIP vision tower (the class the
real checkpoint ships). LTX-2 generates audio with the video; evalsuite ignores the audio.
"""

from __future__ import annotations

from typing import Any

from evalsuite.models.tiny.tokenizers import gemma_tokenizer

PIPELINE = "LTX2Pipeline"
# Bump when the architecture or tokenizer below change, so old caches are not reused.
VERSION = 1


def _text_encoder(tokenizer: Any) -> Any:
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    vocab = max(len(tokenizer), tokenizer.vocab_size)
    return Gemma3ForConditionalGeneration(Gemma3Config(
        text_config=dict(vocab_size=vocab + 3, hidden_size=32, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=8, sliding_window=16,
                         max_position_embeddings=256),
        vision_config=dict(hidden_size=16, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                           image_size=16, patch_size=8),
        mm_tokens_per_image=4, boi_token_index=vocab, eoi_token_index=vocab + 1, image_token_index=vocab + 2,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    ))


def build(seed: int = 0) -> Any:
    """Build the tiny LTX-2 pipeline in memory, every module initialised from ``seed``."""
    import torch
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2Pipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    tokenizer = gemma_tokenizer()
    torch.manual_seed(seed + 2)
    text_encoder = _text_encoder(tokenizer)
    text = text_encoder.config.text_config
    hidden, layers = text.hidden_size, text.num_hidden_layers
    torch.manual_seed(seed)
    transformer = LTX2VideoTransformer3DModel(
        in_channels=4, out_channels=4, patch_size=1, patch_size_t=1, num_attention_heads=2,
        attention_head_dim=8, cross_attention_dim=16, audio_in_channels=4, audio_out_channels=4,
        audio_num_attention_heads=2, audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=2,
        qk_norm="rms_norm_across_heads", caption_channels=hidden, rope_double_precision=False,
        rope_type="split",
    )
    torch.manual_seed(seed + 3)
    connectors = LTX2TextConnectors(
        caption_channels=hidden, text_proj_in_factor=layers + 1, video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8, video_connector_num_layers=1,
        video_connector_num_learnable_registers=None, audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32, rope_theta=10000.0,
        rope_double_precision=False, causal_temporal_positioning=False, rope_type="split",
    )
    torch.manual_seed(seed + 1)
    vae = AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8,),
        decoder_block_out_channels=(8,), layers_per_block=(1,), decoder_layers_per_block=(1, 1),
        spatio_temporal_scaling=(True,), decoder_spatio_temporal_scaling=(True,),
        decoder_inject_noise=(False, False), downsample_type=("spatial",),
        upsample_residual=(False,), upsample_factor=(1,), timestep_conditioning=False, patch_size=1,
        patch_size_t=1, encoder_causal=True, decoder_causal=False,
    )
    torch.manual_seed(seed + 4)
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1,), num_res_blocks=1, attn_resolutions=None,
        in_channels=2, resolution=32, latent_channels=2, norm_type="pixel", causality_axis="height",
        dropout=0.0, mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160, is_causal=True,
        mel_bins=8,
    )
    torch.manual_seed(seed + 5)
    vocoder = LTX2Vocoder(
        in_channels=audio_vae.config.output_channels * audio_vae.config.mel_bins, hidden_channels=32,
        out_channels=2,
        upsample_kernel_sizes=[4, 4], upsample_factors=[2, 2], resnet_kernel_sizes=[3],
        resnet_dilations=[[1, 3, 5]], leaky_relu_negative_slope=0.1, output_sampling_rate=16000,
    )
    for module in (transformer, connectors, vae, audio_vae, vocoder, text_encoder):
        module.eval()
    return LTX2Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, audio_vae=audio_vae, text_encoder=text_encoder,
        tokenizer=tokenizer, connectors=connectors, transformer=transformer, vocoder=vocoder,
    )
