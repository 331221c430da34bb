"""A tiny random Mask2Former COCO-instance detector saved as a local folder, built at test time.

Its class head is biased towards one COCO class, so every query detects that class with a
probability near 1: the detector's score is then the query's mask score, and the GenEval
rules have something definite to judge through the real loading and post-processing code.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    Mask2FormerConfig,
    Mask2FormerForUniversalSegmentation,
    Mask2FormerImageProcessor,
    SwinConfig,
)

from metrics.geneval_rules import CLASSES


def save_tiny_mask2former(folder: Path, favourite: str = "dog", seed: int = 0) -> Path:
    """Write a tiny Mask2Former (80 COCO labels, 10 queries) whose queries all say ``favourite``."""
    backbone = SwinConfig(image_size=64, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1],
                          num_heads=[1, 1, 1, 1], window_size=4,
                          out_features=["stage1", "stage2", "stage3", "stage4"])
    config = Mask2FormerConfig(
        backbone_config=backbone, feature_size=32, mask_feature_size=32, hidden_dim=32,
        encoder_feedforward_dim=32, encoder_layers=1, decoder_layers=2, num_attention_heads=2,
        dim_feedforward=32, num_queries=10, num_labels=len(CLASSES),
        id2label=dict(enumerate(CLASSES)), label2id={c: i for i, c in enumerate(CLASSES)},
    )
    torch.manual_seed(seed)
    model = Mask2FormerForUniversalSegmentation(config).eval()
    with torch.no_grad():
        model.class_predictor.weight.zero_()
        model.class_predictor.bias.fill_(-10.0)
        model.class_predictor.bias[CLASSES.index(favourite)] = 10.0
    model.save_pretrained(folder)
    Mask2FormerImageProcessor().save_pretrained(folder)
    return folder
