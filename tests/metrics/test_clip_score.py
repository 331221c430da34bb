"""CLIP-Score on a tiny random CLIP loaded from a local folder, through torchmetrics' code."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from transformers import CLIPModel, CLIPProcessor

from metrics import SCORERS, Kind, Sample
from metrics.clip_score import CLIPScore
from tests.metrics._tiny_clip import random_images, save_tiny_clip

PROMPTS = ["a red cat", "two blue dogs", "a lighthouse at dusk", "an apple", "snow", "a car"]


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Seed 3 gives these prompts and images both positive and negative cosines, so the
    # comparison below covers the clamp at 0 as well as real values.
    return save_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip", seed=3)


def _direct(folder: Path, images, prompts) -> list[float]:
    """CLIP-Score by hand with plain transformers: the value torchmetrics should produce."""
    model, processor = CLIPModel.from_pretrained(folder).eval(), CLIPProcessor.from_pretrained(folder)
    with torch.no_grad():
        pix = processor(images=images, return_tensors="pt")["pixel_values"]
        img = model.get_image_features(pixel_values=pix).pooler_output
        txt_in = processor(text=prompts, return_tensors="pt", padding=True, truncation=True,
                           max_length=77)
        txt = model.get_text_features(**txt_in).pooler_output
    return (100 * F.cosine_similarity(img, txt)).clamp(min=0).tolist()


def test_registered_with_declared_kind() -> None:
    assert SCORERS.get("clip_score") is CLIPScore
    assert CLIPScore.kind == Kind.PER_IMAGE and CLIPScore.higher_is_better


def test_matches_a_direct_transformers_computation(clip_dir: Path) -> None:
    images = random_images(len(PROMPTS), ((64, 64), (80, 48), (40, 72)))
    scorer = CLIPScore(model=str(clip_dir), batch_size=4)  # 6 images: two batches
    values = scorer.score([Sample(im, p) for im, p in zip(images, PROMPTS, strict=True)])
    expected = _direct(clip_dir, images, PROMPTS)
    assert values == pytest.approx(expected, abs=1e-4)
    assert any(v > 0 for v in values), "the random model should give some positive cosines"
    assert any(v == 0 for v in values), "and some negative ones, clamped to 0"
    assert all(0 <= v <= 100 for v in values)


def test_long_prompt_is_truncated_keeping_the_end_token(clip_dir: Path) -> None:
    # torchmetrics alone would cut the ids after 77 tokens and lose the pooled end token.
    prompt = "a very long prompt about many things " * 10
    image = random_images(1, seed=3)
    value = CLIPScore(model=str(clip_dir)).score([Sample(image[0], prompt)])
    assert value == pytest.approx(_direct(clip_dir, image, [prompt]), abs=1e-4)


def test_loads_once_and_lazily(clip_dir: Path) -> None:
    scorer = CLIPScore(model=str(clip_dir))
    assert scorer._clip is None  # nothing loaded at construction
    images = random_images(2)
    scorer.score([Sample(images[0], "a cat")])
    first = scorer._clip
    scorer.score([Sample(images[1], "a dog")])
    assert scorer._clip is first


def test_identity_records_model_dtype_and_preprocessing(clip_dir: Path) -> None:
    ident = CLIPScore(model=str(clip_dir)).identity()
    assert ident["model"] == str(clip_dir.resolve())
    assert ident["revision"] is None and ident["dtype"] == "float32"
    assert "centre crop 32x32" in ident["preprocessing"]
    assert "bicubic" in ident["preprocessing"]


def test_identity_never_raises_when_model_files_are_missing() -> None:
    ident = CLIPScore(model="/nonexistent/clip-folder").identity()
    assert ident["preprocessing"].startswith("unresolved")


def test_bad_options_are_errors() -> None:
    with pytest.raises(ValueError, match="dtype"):
        CLIPScore(dtype="float8")
    with pytest.raises(ValueError, match="batch_size"):
        CLIPScore(batch_size=0)
    with pytest.raises(TypeError):
        CLIPScore(modle="typo")  # type: ignore[call-arg]
