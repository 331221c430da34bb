"""ImageReward's network on transformers' BLIP building blocks, plus the checkpoint key mapping.

The official ``ImageReward.pt`` is a plain state dict written by the ``image-reward`` package:
a timm-style ViT (``blip.visual_encoder.*``), BLIP's BERT with cross-attention
(``blip.text_encoder.*``, the names transformers' ``BlipTextModel`` still uses) and an MLP head
(``mlp.layers.*``). We rename the ViT keys onto ``BlipVisionModel`` and read every size from the
tensors' shapes, so the real checkpoint and the tiny test checkpoints go through one code path.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping

import torch
from torch import nn
from transformers import BlipTextConfig, BlipTextModel, BlipVisionConfig, BlipVisionModel

VISION_PREFIX = "blip.visual_encoder."
TEXT_PREFIX = "blip.text_encoder."
HEAD_PREFIX = "mlp.layers."
# Present in the checkpoint but unused for scoring (ITC projections, a non-persistent buffer).
IGNORED_PREFIXES = ("blip.vision_proj.", "blip.text_proj.", "blip.text_encoder.embeddings.position_ids")
HEAD_DIM = 64  # BLIP's ViT-B/L and BERT-base all use 64-wide heads; heads = width // 64
HEAD_LINEARS = (0, 2, 4, 6, 7)  # indices of the Linear layers in ImageReward's nn.Sequential head

# timm ViT names -> transformers BlipVisionModel names (regex, replacement), applied in order.
_VISION_RULES: tuple[tuple[str, str], ...] = (
    (r"^cls_token$", "embeddings.class_embedding"),
    (r"^pos_embed$", "embeddings.position_embedding"),
    (r"^patch_embed\.proj\.", "embeddings.patch_embedding."),
    (r"^blocks\.(\d+)\.norm1\.", r"encoder.layers.\1.layer_norm1."),
    (r"^blocks\.(\d+)\.norm2\.", r"encoder.layers.\1.layer_norm2."),
    (r"^blocks\.(\d+)\.attn\.qkv\.", r"encoder.layers.\1.self_attn.qkv."),
    (r"^blocks\.(\d+)\.attn\.proj\.", r"encoder.layers.\1.self_attn.projection."),
    (r"^blocks\.(\d+)\.mlp\.(fc[12])\.", r"encoder.layers.\1.mlp.\2."),
    (r"^norm\.", "post_layernorm."),
)


def vision_key(key: str) -> str:
    """Map one timm ViT key (without ``blip.visual_encoder.``) to its BlipVisionModel name."""
    for pattern, repl in _VISION_RULES:
        new, n = re.subn(pattern, repl, key)
        if n:
            return new
    return key  # unknown: load_state_dict reports it as unexpected


def split_checkpoint(state: Mapping[str, torch.Tensor]) -> tuple[dict, dict, dict, list[str]]:
    """Split an ImageReward state dict into (vision, text, head, unexpected keys)."""
    vision: dict[str, torch.Tensor] = {}
    text: dict[str, torch.Tensor] = {}
    head: dict[str, torch.Tensor] = {}
    unexpected = []
    for key, value in state.items():
        if key.startswith(IGNORED_PREFIXES):
            continue
        if key.startswith(VISION_PREFIX):
            vision[vision_key(key[len(VISION_PREFIX) :])] = value
        elif key.startswith(TEXT_PREFIX):
            text[key[len(TEXT_PREFIX) :]] = value
        elif key.startswith(HEAD_PREFIX):
            head[key[len(HEAD_PREFIX) :]] = value
        else:
            unexpected.append(key)
    if not (vision and text and head):
        raise ValueError(
            "not an ImageReward checkpoint: expected keys under "
            f"{VISION_PREFIX!r}, {TEXT_PREFIX!r} and {HEAD_PREFIX!r}; found e.g. {list(state)[:5]}"
        )
    return vision, text, head, unexpected


def _load(module: nn.Module, state: Mapping[str, torch.Tensor], part: str) -> list[str]:
    """Load ``state`` into ``module``; a missing weight is an error, an extra one is returned.

    The package loads with ``strict=False``, which silently leaves missing weights random; we
    refuse that, but tolerate extras as it does (they cannot change the score).
    """
    result = module.load_state_dict(state, strict=False)
    if result.missing_keys:
        raise ValueError(f"ImageReward checkpoint lacks {part} weights {result.missing_keys[:5]}")
    return [f"{part}.{k}" for k in result.unexpected_keys]


def _count(state: Mapping[str, torch.Tensor], pattern: str) -> int:
    return len({m.group(1) for k in state if (m := re.match(pattern, k))})


def vision_config(state: Mapping[str, torch.Tensor]) -> BlipVisionConfig:
    """BlipVisionConfig read off the (renamed) ViT tensors."""
    pos = state["embeddings.position_embedding"]
    patch = state["embeddings.patch_embedding.weight"].shape[-1]
    width = pos.shape[-1]
    grid = int(round((pos.shape[1] - 1) ** 0.5))
    return BlipVisionConfig(
        hidden_size=width,
        intermediate_size=state["encoder.layers.0.mlp.fc1.weight"].shape[0],
        num_hidden_layers=_count(state, r"encoder\.layers\.(\d+)\."),
        num_attention_heads=max(1, width // HEAD_DIM),
        image_size=grid * patch,
        patch_size=patch,
        hidden_act="gelu",  # timm's nn.GELU is the exact (erf) GELU
        layer_norm_eps=1e-6,  # BLIP's ViT uses LayerNorm(eps=1e-6), not transformers' 1e-5
        attention_dropout=0.0,
    )


def text_config(state: Mapping[str, torch.Tensor]) -> BlipTextConfig:
    """BlipTextConfig (BLIP's med_config) read off the text-encoder tensors."""
    vocab, width = state["embeddings.word_embeddings.weight"].shape
    return BlipTextConfig(
        vocab_size=vocab,
        hidden_size=width,
        encoder_hidden_size=state["encoder.layer.0.crossattention.self.key.weight"].shape[1],
        intermediate_size=state["encoder.layer.0.intermediate.dense.weight"].shape[0],
        num_hidden_layers=_count(state, r"encoder\.layer\.(\d+)\."),
        num_attention_heads=max(1, width // HEAD_DIM),
        max_position_embeddings=state["embeddings.position_embeddings.weight"].shape[0],
        hidden_act="gelu",
        layer_norm_eps=1e-12,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        pad_token_id=0,
        is_decoder=True,  # builds the cross-attention layers; forward() runs it bidirectionally
    )


def build_head(state: Mapping[str, torch.Tensor]) -> nn.Sequential:
    """ImageReward's MLP: Linear layers with dropouts between and no activations (sic)."""
    sizes = [state[f"{i}.weight"].shape for i in HEAD_LINEARS]
    layers: list[nn.Module] = []
    for i, (out_f, in_f) in enumerate(sizes):
        layers.append(nn.Linear(in_f, out_f))
        if i < 3:
            layers.append(nn.Dropout(0.2 if i < 2 else 0.1))  # keeps the original indices 0,2,4,6,7
    return nn.Sequential(*layers)


class ImageRewardNet(nn.Module):
    """BLIP ViT + cross-attending BERT + MLP head, returning the normalised reward."""

    def __init__(self, state: Mapping[str, torch.Tensor], mean: float, std: float) -> None:
        super().__init__()
        vision, text, head, unexpected = split_checkpoint(state)
        try:
            self.vision = BlipVisionModel(vision_config(vision))
            self.text = BlipTextModel(text_config(text), add_pooling_layer=False)
        except KeyError as exc:  # a tensor the sizes are read from is absent
            raise ValueError(f"ImageReward checkpoint lacks {exc}") from None
        self.head = build_head(head)
        unexpected += _load(self.vision, vision, "vision") + _load(self.text, text, "text")
        unexpected += _load(self.head, head, "head")
        if unexpected:
            warnings.warn(f"ImageReward checkpoint: ignored keys {unexpected[:5]}", stacklevel=2)
        self.mean, self.std = mean, std
        self.eval()

    @property
    def image_size(self) -> int:
        return int(self.vision.config.image_size)

    @property
    def vocab_size(self) -> int:
        return int(self.text.config.vocab_size)

    @torch.inference_mode()
    def forward(
        self, pixel_values: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Rewards [N] for N preprocessed images and their tokenised prompts."""
        image_embeds = self.vision(pixel_values=pixel_values).last_hidden_state
        image_atts = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=image_embeds.device)
        out = self.text(
            input_ids=input_ids,
            attention_mask=attention_mask,
            encoder_hidden_states=image_embeds,
            encoder_attention_mask=image_atts,
            is_decoder=False,  # bidirectional self-attention, as BLIP's "multimodal" mode
        )
        # The original casts the [CLS] feature to float32 before the head, whatever the model
        # dtype; callers keep the head in float32 (see ImageReward scorer's loader).
        features = out.last_hidden_state[:, 0, :].float()
        reward = self.head(features).squeeze(-1)
        return (reward - self.mean) / self.std
