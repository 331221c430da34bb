"""CMMD: the distance against a NumPy transcription of the reference, and the scorer end to end."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import CLIPModel

from metrics import SCORERS, Kind
from metrics.cmmd import CMMD, center_crop_and_resize, cmmd_from_embeddings
from tests.metrics._tiny_clip import random_images, save_tiny_clip


def _reference_mmd(x: np.ndarray, y: np.ndarray, sigma: float = 10.0, scale: float = 1000.0
                   ) -> float:
    """google-research/cmmd distance.mmd, transcribed to NumPy line by line."""
    x_sqnorms = np.diag(np.matmul(x, x.T))
    y_sqnorms = np.diag(np.matmul(y, y.T))
    gamma = 1 / (2 * sigma**2)
    k_xx = np.mean(np.exp(-gamma * (-2 * np.matmul(x, x.T) + np.expand_dims(x_sqnorms, 1)
                                    + np.expand_dims(x_sqnorms, 0))))
    k_xy = np.mean(np.exp(-gamma * (-2 * np.matmul(x, y.T) + np.expand_dims(x_sqnorms, 1)
                                    + np.expand_dims(y_sqnorms, 0))))
    k_yy = np.mean(np.exp(-gamma * (-2 * np.matmul(y, y.T) + np.expand_dims(y_sqnorms, 1)
                                    + np.expand_dims(y_sqnorms, 0))))
    return scale * (k_xx + k_yy - 2 * k_xy)


def _unit_rows(n: int, d: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(n, d))
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_cmmd_from_embeddings_equals_the_reference_formula() -> None:
    x, y = _unit_rows(7, 16, 0), _unit_rows(5, 16, 1)
    assert cmmd_from_embeddings(x, y) == pytest.approx(_reference_mmd(x, y), rel=1e-9)
    assert cmmd_from_embeddings(x, y) == pytest.approx(cmmd_from_embeddings(y, x), rel=1e-12)
    # torch tensors (any dtype, any device) are accepted too
    tx, ty = torch.from_numpy(x).float(), torch.from_numpy(y).float()
    assert cmmd_from_embeddings(tx, ty) == pytest.approx(_reference_mmd(x, y), rel=1e-5)


def test_cmmd_from_embeddings_known_values() -> None:
    x = _unit_rows(6, 8, 2)
    assert abs(cmmd_from_embeddings(x, x)) < 1e-9  # identical sets
    # One pair of orthogonal unit vectors: |a-b|² = 2, so 1000 * 2 * (1 - exp(-2 / 200)).
    a, b = np.eye(3)[:1], np.eye(3)[1:2]
    assert cmmd_from_embeddings(a, b) == pytest.approx(2000 * (1 - math.exp(-0.01)), rel=1e-12)


def test_cmmd_from_embeddings_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="widths"):
        cmmd_from_embeddings(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="non-empty"):
        cmmd_from_embeddings(np.ones((0, 3)), np.ones((2, 3)))


def test_center_crop_and_resize_is_the_reference_crop() -> None:
    image = random_images(1, ((80, 50),))[0]  # 80 wide, 50 high: crop x from 15 to 65
    expected = image.crop((15, 0, 65, 50)).resize((24, 24), Image.Resampling.BICUBIC)
    assert np.array_equal(np.asarray(center_crop_and_resize(image, 24)), np.asarray(expected))


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip", image_size=48)


def _direct_embeddings(folder: Path, images: list[Image.Image]) -> np.ndarray:
    """Reference preprocessing and embedding by hand, with plain transformers."""
    model = CLIPModel.from_pretrained(folder).eval()
    mean = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
    std = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
    arrays = [(np.asarray(center_crop_and_resize(im, 48), dtype=np.float32) / 255.0 - mean) / std
              for im in images]
    pix = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    with torch.no_grad():
        emb = model.get_image_features(pixel_values=pix).pooler_output.double()
    return (emb / emb.norm(dim=-1, keepdim=True)).numpy()


def test_registered_as_a_lower_is_better_set_metric() -> None:
    assert SCORERS.get("cmmd") is CMMD
    assert CMMD.kind == Kind.SET and not CMMD.higher_is_better and CMMD.ideal == 0.0


def test_score_set_matches_a_direct_computation(clip_dir: Path) -> None:
    images = random_images(5, ((64, 64), (80, 50)), seed=1)
    refs = random_images(4, ((64, 64),), seed=2)
    scorer = CMMD(model=str(clip_dir), batch_size=2)
    value = scorer.score_set(images, refs)
    expected = _reference_mmd(_direct_embeddings(clip_dir, refs),
                              _direct_embeddings(clip_dir, images))
    assert value == pytest.approx(expected, rel=1e-4)
    assert value > 0
    assert abs(scorer.score_set(refs, refs)) < 1e-9
    # Embeddings are cached by image content, so the baseline set is embedded once.
    assert len(scorer._cache) == len(images) + len(refs)


def test_reference_dir_replaces_the_baseline(clip_dir: Path, tmp_path: Path) -> None:
    refs = random_images(3, ((64, 64), (50, 70)), seed=7)
    for i, im in enumerate(refs):
        im.save(tmp_path / f"ref-{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    images = random_images(4, seed=8)
    from_dir = CMMD(model=str(clip_dir), reference_dir=str(tmp_path), batch_size=2)
    # PNG is lossless; only float32 batching differences (batch 2 vs 32) remain.
    assert from_dir.score_set(images, []) == pytest.approx(
        CMMD(model=str(clip_dir)).score_set(images, refs), rel=1e-5)
    ident = from_dir.identity()
    assert ident["reference"]["dir"] == str(tmp_path.resolve()) and ident["reference"]["n"] == 3
    assert "PIL bicubic resize to 48x48" in ident["preprocessing"]
    assert ident["dtype"] == "float32"


def test_bad_inputs(clip_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no .png"):
        CMMD(model=str(clip_dir), reference_dir=str(tmp_path))
    with pytest.raises(ValueError, match="non-empty"):
        CMMD(model=str(clip_dir)).score_set(random_images(2), [])
