"""A tiny random CLIP (model + processor) saved as a local folder, built offline at test time.

The tokenizer files are written locally (byte-level vocabulary, no merges) by the same
helper the tiny FLUX pipeline uses, so nothing comes from the hub. The folder is what
``CLIPModel.from_pretrained`` / ``CLIPProcessor.from_pretrained`` read for a hub model.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

from evalsuite.models.tiny.tokenizers import clip_tokenizer


def save_tiny_clip(folder: Path, image_size: int = 32, seed: int = 0) -> Path:
    """Write a tiny random CLIPModel + CLIPProcessor to ``folder`` and return it."""
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = clip_tokenizer(Path(scratch))
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": image_size},
        crop_size={"height": image_size, "width": image_size},
    )
    vocab = max(len(tokenizer), tokenizer.vocab_size)
    config = CLIPConfig(
        text_config={
            "vocab_size": vocab, "hidden_size": 32, "intermediate_size": 64,
            "num_hidden_layers": 2, "num_attention_heads": 2, "max_position_embeddings": 77,
            "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "image_size": image_size, "patch_size": 8, "hidden_size": 32,
            "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
        },
        projection_dim=16,
    )
    torch.manual_seed(seed)
    CLIPModel(config).eval().save_pretrained(folder)
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def random_images(n: int, sizes: tuple[tuple[int, int], ...] = ((64, 64),), seed: int = 0
                  ) -> list[Image.Image]:
    """``n`` random RGB images cycling through ``sizes`` (width, height)."""
    rng = np.random.default_rng(seed)
    return [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for w, h in (sizes[i % len(sizes)] for i in range(n))
    ]
