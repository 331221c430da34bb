"""The embedded default model: a tiny, randomly initialised but real FLUX pipeline.

Nothing can be downloaded here or in CI, so the default suite runs on a `FluxPipeline`
whose transformer, VAE, CLIP and T5 are tiny and whose tokenizers are written locally.
It is built once, deterministically from a seed, saved with `save_pretrained` into the
user cache directory and then loaded through the same `from_pretrained(path)` code path
that loads FLUX.1-dev from the hub.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

# Bump when the architecture or tokenizers below change, so old caches are not reused.
TINY_VERSION = 1


def cache_root() -> Path:
    """The user cache directory for evalsuite (honours ``EVALSUITE_CACHE`` and XDG)."""
    if env := os.environ.get("EVALSUITE_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evalsuite"


def tiny_model_path(seed: int = 0) -> Path:
    """Return the folder of the tiny pipeline for ``seed``, building it on first use."""
    target = cache_root() / f"tiny-flux-v{TINY_VERSION}-seed{seed}"
    if (target / "model_index.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename into place, so a killed build or a concurrent
    # builder never leaves a half-written model that later runs would trust.
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        build_tiny_pipeline(seed).save_pretrained(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "model_index.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _byte_chars() -> list[str]:
    # GPT-2/CLIP byte-to-unicode table: every byte maps to one printable character.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def _clip_tokenizer(folder: Path):
    from transformers import CLIPTokenizer

    chars = _byte_chars()
    vocab: dict[str, int] = {}
    for piece in chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]:
        vocab.setdefault(piece, len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)


def _t5_tokenizer(folder: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import T5TokenizerFast

    pieces = ["<pad>", "</s>", "<unk>"]
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"-()&/ "
    for ch in alphabet:
        for piece in (ch, "▁" + ch):
            if piece not in pieces:  # duplicate pieces break the Unigram model
                pieces.append(piece)
    tok = Tokenizer(models.Unigram([(p, -1.0) for p in pieces], unk_id=2))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    return T5TokenizerFast(
        tokenizer_file=str(folder / "tokenizer.json"),
        eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=0, model_max_length=512,
    )


def build_tiny_pipeline(seed: int = 0):
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
        tokenizer = _clip_tokenizer(Path(scratch) / "clip")
        tokenizer_2 = _t5_tokenizer(Path(scratch) / "t5")

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
