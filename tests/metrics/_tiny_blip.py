"""Tiny ImageReward fixtures: a random checkpoint in the official key layout, and a reference.

The checkpoint's key names are written out here from the ``image-reward`` package's modules
(timm ViT, BLIP's med BERT, the MLP head), not derived from ``metrics._blip``, so a wrong key
mapping there fails the tests. ``reference_rewards`` is a plain functional re-implementation of
the package's forward pass (same maths, same -10000 attention mask) to compare scores against.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

WORDS = ["a", "photo", "of", "cat", "dog", "red", "blue", "on", "the", "table", "##s", "and"]
HEAD_DIM = 64
V, T = "blip.visual_encoder.", "blip.text_encoder."


def write_bert_vocab(folder: Path) -> Path:
    """A BERT uncased WordPiece vocab ([PAD] = 0, as bert-base-uncased) and its config."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    config = {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def tiny_state_dict(vocab_size: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random ImageReward weights: ViT (width 128, 2 blocks, patch 32 at 224), BERT (2 layers)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int, std: float = 0.05) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * std

    def ln(prefix: str, width: int, out: dict) -> None:
        out[prefix + "weight"] = 1.0 + rnd(width, std=0.1)
        out[prefix + "bias"] = rnd(width)

    def lin(prefix: str, n_out: int, n_in: int, out: dict, std: float = 0.05) -> None:
        out[prefix + "weight"] = rnd(n_out, n_in, std=std)
        out[prefix + "bias"] = rnd(n_out)

    sd: dict[str, torch.Tensor] = {}
    vw, patch, grid, tw = 128, 32, 7, 128
    sd[V + "cls_token"] = rnd(1, 1, vw, std=0.5)
    sd[V + "pos_embed"] = rnd(1, grid * grid + 1, vw, std=0.5)
    sd[V + "patch_embed.proj.weight"] = rnd(vw, 3, patch, patch, std=0.02)
    sd[V + "patch_embed.proj.bias"] = rnd(vw)
    for i in range(2):
        b = f"{V}blocks.{i}."
        ln(b + "norm1.", vw, sd)
        lin(b + "attn.qkv.", 3 * vw, vw, sd, std=0.2)
        lin(b + "attn.proj.", vw, vw, sd)
        ln(b + "norm2.", vw, sd)
        lin(b + "mlp.fc1.", 4 * vw, vw, sd)
        lin(b + "mlp.fc2.", vw, 4 * vw, sd)
    ln(V + "norm.", vw, sd)
    sd[T + "embeddings.position_ids"] = torch.arange(40).expand(1, -1)
    sd[T + "embeddings.word_embeddings.weight"] = rnd(vocab_size, tw, std=0.5)
    sd[T + "embeddings.position_embeddings.weight"] = rnd(40, tw, std=0.5)
    ln(T + "embeddings.LayerNorm.", tw, sd)
    for i in range(2):
        b = f"{T}encoder.layer.{i}."
        for part, kv_width in (("attention.", tw), ("crossattention.", vw)):
            lin(b + part + "self.query.", tw, tw, sd, std=0.2)
            lin(b + part + "self.key.", tw, kv_width, sd, std=0.2)
            lin(b + part + "self.value.", tw, kv_width, sd)
            lin(b + part + "output.dense.", tw, tw, sd)
            ln(b + part + "output.LayerNorm.", tw, sd)
        lin(b + "intermediate.dense.", 256, tw, sd)
        lin(b + "output.dense.", tw, 256, sd)
        ln(b + "output.LayerNorm.", tw, sd)
    lin("blip.vision_proj.", 32, vw, sd)
    lin("blip.text_proj.", 32, tw, sd)
    for idx, (n_out, n_in) in zip(
        (0, 2, 4, 6, 7), ((64, tw), (32, 64), (16, 32), (8, 16), (1, 8)), strict=True
    ):
        lin(f"mlp.layers.{idx}.", n_out, n_in, sd, std=n_in**-0.5)
    return sd


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    n, lq, width = q.shape
    heads = width // HEAD_DIM

    def split(x: torch.Tensor) -> torch.Tensor:
        return x.view(n, -1, heads, width // heads).transpose(1, 2)

    scores = split(q) @ split(k).transpose(-1, -2) / (width // heads) ** 0.5
    if mask is not None:
        scores = scores + mask
    return (scores.softmax(-1) @ split(v)).transpose(1, 2).reshape(n, lq, width)


def reference_rewards(
    sd: dict[str, torch.Tensor], pixels: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The package's ImageReward.score maths, written as plain functions over the state dict."""

    def p(key: str) -> torch.Tensor:
        return sd[key]

    def linear(x: torch.Tensor, prefix: str) -> torch.Tensor:
        return F.linear(x, p(prefix + "weight"), p(prefix + "bias"))

    def norm(x: torch.Tensor, prefix: str, eps: float) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], p(prefix + "weight"), p(prefix + "bias"), eps)

    # timm VisionTransformer as vendored by BLIP: pre-norm blocks, final LayerNorm(eps=1e-6).
    w = p(V + "patch_embed.proj.weight")
    x = F.conv2d(pixels, w, p(V + "patch_embed.proj.bias"), stride=w.shape[-1])
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([p(V + "cls_token").expand(x.shape[0], -1, -1), x], 1) + p(V + "pos_embed")
    for i in range(2):
        b = f"{V}blocks.{i}."
        q, k, v = linear(norm(x, b + "norm1.", 1e-6), b + "attn.qkv.").chunk(3, dim=-1)
        x = x + linear(_attend(q, k, v, None), b + "attn.proj.")
        x = x + linear(F.gelu(linear(norm(x, b + "norm2.", 1e-6), b + "mlp.fc1.")), b + "mlp.fc2.")
    image = norm(x, V + "norm.", 1e-6)

    # BLIP med.py BertModel in "multimodal" mode: self-attention, cross-attention, FFN.
    length = ids.shape[1]
    h = p(T + "embeddings.word_embeddings.weight")[ids]
    h = norm(h + p(T + "embeddings.position_embeddings.weight")[:length], T + "embeddings.LayerNorm.", 1e-12)
    ext = (1.0 - mask[:, None, None, :].float()) * -10000.0
    for i in range(2):
        b = f"{T}encoder.layer.{i}."
        for part, kv, m in (("attention.", None, ext), ("crossattention.", image, None)):
            src = h if kv is None else kv
            s = b + part + "self."
            ctx = _attend(linear(h, s + "query."), linear(src, s + "key."), linear(src, s + "value."), m)
            h = norm(linear(ctx, b + part + "output.dense.") + h, b + part + "output.LayerNorm.", 1e-12)
        ffn = linear(F.gelu(linear(h, b + "intermediate.dense.")), b + "output.dense.")
        h = norm(ffn + h, b + "output.LayerNorm.", 1e-12)
    r = h[:, 0, :]
    for idx in (0, 2, 4, 6, 7):
        r = linear(r, f"mlp.layers.{idx}.")
    return ((r - 0.16717362830052426) / 1.0333394966054072).squeeze(-1)
