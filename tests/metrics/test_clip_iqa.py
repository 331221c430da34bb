"""CLIP-IQA on a tiny random CLIP loaded from a local folder, through torchmetrics' code."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from transformers import CLIPModel, CLIPProcessor

from metrics import SCORERS, Kind, Sample
from metrics.base import to_tensor
from metrics.clip_iqa import CLIPIQA
from tests.metrics._tiny_clip import random_images, save_tiny_clip


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip", seed=3)


def _direct(folder: Path, images: list[Image.Image], positive: str, negative: str,
            rescale_again: bool = False) -> list[float]:
    """P(positive) by hand: softmax over 100 x cosine to the two prompts, images seen once in
    [0, 1] (resized and cropped by the model's processor, then normalised).

    ``rescale_again`` reproduces what torchmetrics does with the processor left as loaded.
    """
    model, processor = CLIPModel.from_pretrained(folder).eval(), CLIPProcessor.from_pretrained(folder)
    processor.image_processor.do_rescale = rescale_again
    with torch.no_grad():
        pix = processor(images=list(to_tensor(images)), return_tensors="pt")["pixel_values"]
        img = F.normalize(model.get_image_features(pixel_values=pix).pooler_output, dim=-1)
        txt_in = processor(text=[positive, negative], return_tensors="pt", padding=True)
        txt = F.normalize(model.get_text_features(**txt_in).pooler_output, dim=-1)
    return (100 * img @ txt.T).softmax(-1)[:, 0].tolist()


def test_registered_with_declared_kind() -> None:
    assert SCORERS.get("clip_iqa") is CLIPIQA
    assert CLIPIQA.kind == Kind.PER_IMAGE and CLIPIQA.higher_is_better


def test_matches_a_direct_computation_across_batches_and_sizes(clip_dir: Path) -> None:
    images = random_images(5, ((64, 64), (80, 48)), seed=4)
    values = CLIPIQA(model=str(clip_dir), batch_size=2).score([Sample(im, "") for im in images])
    expected = [_direct(clip_dir, [im], "Good photo.", "Bad photo.")[0] for im in images]
    assert values == pytest.approx(expected, abs=1e-5)
    # Seed 3 keeps these probabilities away from the saturated 0 and 1 of most random CLIPs.
    assert all(0.001 < v < 0.999 for v in values)


def test_images_are_not_rescaled_twice(clip_dir: Path) -> None:
    # With the processor's default rescale, torchmetrics would show the model a white image
    # as near-black. The random model's softmax saturates, so compare log-probabilities.
    white = Image.fromarray(np.full((48, 48, 3), 255, dtype=np.uint8))
    scorer = CLIPIQA(model=str(clip_dir), prompt=["A bright photo.", "A dark photo."])
    value = scorer.score([Sample(white, "")])[0]
    right = _direct(clip_dir, [white], "A bright photo.", "A dark photo.")[0]
    wrong = _direct(clip_dir, [white], "A bright photo.", "A dark photo.", rescale_again=True)[0]
    assert math.log(value) == pytest.approx(math.log(right), abs=1e-3)
    assert abs(math.log(value) - math.log(wrong)) > 1.0


def test_builtin_prompt_names_and_pairs(clip_dir: Path) -> None:
    image = random_images(1, seed=5)[0]
    sharp = CLIPIQA(model=str(clip_dir), prompt="sharpness").score([Sample(image, "")])
    assert sharp == pytest.approx(_direct(clip_dir, [image], "Sharp photo.", "Blurry photo."),
                                  abs=1e-5)
    ident = CLIPIQA(model=str(clip_dir), prompt=["Nice.", "Ugly."]).identity()
    assert ident["prompts"] == ["Nice.", "Ugly."]
    assert ident["model"] == str(clip_dir.resolve()) and ident["dtype"] == "float32"
    assert ident["preprocessing"].startswith("RGB float [0,1]")
    assert "rescale" not in ident["preprocessing"]


def test_bad_prompts_fail_at_construction() -> None:
    with pytest.raises(ValueError):
        CLIPIQA(prompt="qualty")
    with pytest.raises(ValueError, match="pair"):
        CLIPIQA(prompt=["only one"])
