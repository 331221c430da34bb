"""Built-in FLUX pipelines with random weights: ``model.id = "random:flux-dev"`` or ``"random:flux-tiny"``.

``flux-dev`` has FLUX.1-dev's exact transformer (12B parameters) and VAE configurations, so
a step costs what FLUX.1-dev's costs, with small text encoders of the right output widths
(T5 4096, CLIP 768) and locally written tokenizers: the GPU acceptance run measures the
harness and the accelerators at full size with nothing to download and nothing gated.
``flux-tiny`` is the same construction at toy sizes, so CI builds it through this code.
The weights are created on the target device in the target dtype (no 48 GB float32 detour
on the host), deterministically from a fixed seed. Images are noise: quality scores of
these runs mean nothing, latency, memory and energy do.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

# FLUX.1-dev's transformer/config.json and vae/config.json.
FLUX_DEV_TRANSFORMER = dict(patch_size=1, in_channels=64, num_layers=19, num_single_layers=38,
                            attention_head_dim=128, num_attention_heads=24, joint_attention_dim=4096,
                            pooled_projection_dim=768, guidance_embeds=True, axes_dims_rope=(16, 56, 56))
FLUX_DEV_VAE = dict(in_channels=3, out_channels=3, latent_channels=16, layers_per_block=2,
                    block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                    up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=32, sample_size=1024,
                    scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False,
                    use_post_quant_conv=False, mid_block_add_attention=True, force_upcast=True)
FLUX_TINY_TRANSFORMER = dict(patch_size=1, in_channels=16, num_layers=2, num_single_layers=2,
                             attention_head_dim=16, num_attention_heads=2, joint_attention_dim=32,
                             pooled_projection_dim=16, guidance_embeds=True, axes_dims_rope=(4, 6, 6))
FLUX_TINY_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
                     block_out_channels=(16, 32), down_block_types=("DownEncoderBlock2D",) * 2,
                     up_block_types=("UpDecoderBlock2D",) * 2, norm_num_groups=8, sample_size=64,
                     scaling_factor=1.5035, shift_factor=0.0609, use_quant_conv=False,
                     use_post_quant_conv=False)
PRESETS = {"flux-dev": (FLUX_DEV_TRANSFORMER, FLUX_DEV_VAE),
           "flux-tiny": (FLUX_TINY_TRANSFORMER, FLUX_TINY_VAE)}
PREFIX = "random:"


def is_random_model(model_id: str) -> bool:
    """Whether ``model_id`` names one of these built-in random pipelines."""
    return model_id.startswith(PREFIX)


def build_random_flux(model_id: str, dtype: Any, device: str) -> Any:
    """Build the named random FLUX pipeline directly on ``device`` in ``dtype``.

    Raises:
        ValueError: an unknown preset name.
    """
    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    from evalsuite.models.tiny.tokenizers import clip_tokenizer, t5_tokenizer

    name = model_id.removeprefix(PREFIX)
    if name not in PRESETS:
        raise ValueError(f"model.id {model_id!r}: unknown random model (known: "
                         f"{', '.join(PREFIX + p for p in PRESETS)})")
    transformer_cfg, vae_cfg = PRESETS[name]
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = clip_tokenizer(Path(scratch) / "clip")
        tokenizer_2 = t5_tokenizer(Path(scratch) / "t5")
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            torch.manual_seed(0)
            transformer = FluxTransformer2DModel(**transformer_cfg)
            vae = AutoencoderKL(**vae_cfg)
            text_encoder = CLIPTextModel(CLIPTextConfig(
                vocab_size=max(len(tokenizer), tokenizer.vocab_size),
                hidden_size=transformer_cfg["pooled_projection_dim"], intermediate_size=256,
                num_hidden_layers=1, num_attention_heads=4, max_position_embeddings=77,
                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id))
            text_encoder_2 = T5EncoderModel(T5Config(
                vocab_size=max(len(tokenizer_2), tokenizer_2.vocab_size),
                d_model=transformer_cfg["joint_attention_dim"], d_ff=256, d_kv=16, num_heads=4,
                num_layers=1, decoder_start_token_id=0))
    finally:
        torch.set_default_dtype(default)
    for module in (transformer, vae, text_encoder, text_encoder_2):
        module.eval().requires_grad_(False)  # built from configs: train mode (dropout) otherwise
    return FluxPipeline(scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=False),
                        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, transformer=transformer)
