"""PickScore through the real loaders on a tiny random CLIP, against CLIP's own logits."""

from __future__ import annotations

import pytest
import torch
from transformers import CLIPModel, CLIPProcessor

from metrics._weights import MissingWeights
from metrics.base import Sample
from metrics.pickscore import PickScore
from tests.metrics._tiny_clip import random_images, save_tiny_clip


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("pickscore")
    model = save_tiny_clip(root / "model", seed=3)
    # The processor lives apart, as PickScore's does (LAION CLIP-H's, not the model repo's).
    CLIPProcessor.from_pretrained(model).save_pretrained(root / "processor")
    return model, root / "processor"


def test_matches_logit_scale_times_cosine(folders):
    model_dir, proc_dir = folders
    prompts = ["a red cube", "two cats on a sofa", "a very long prompt " * 30]
    images = random_images(3, sizes=((64, 48), (40, 40), (96, 64)))
    scorer = PickScore(model=str(model_dir), processor=str(proc_dir), batch_size=2)
    got = scorer.score([Sample(im, p) for im, p in zip(images, prompts, strict=True)])
    clip, proc = CLIPModel.from_pretrained(model_dir).eval(), CLIPProcessor.from_pretrained(proc_dir)
    expected = []
    with torch.no_grad():  # CLIP's forward: logits_per_image = exp(logit_scale) x cosine
        for im, p in zip(images, prompts, strict=True):
            inputs = proc(text=[p], images=[im], return_tensors="pt", truncation=True, max_length=77)
            expected.append(clip(**inputs).logits_per_image[0, 0].item())
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-5)
    assert clip.logit_scale.exp().item() > 1  # the scale matters: not a bare cosine


def test_identity_names_both_repos_and_missing_weights(folders, tmp_path):
    model_dir, proc_dir = folders
    ident = PickScore(model=str(model_dir), processor=str(proc_dir)).identity()
    assert ident["processor"]["model"] == str(proc_dir.resolve()) and ident["dtype"] == "float32"
    assert "centre crop 32x32" in ident["preprocessing"]
    with pytest.raises(MissingWeights, match=r"\[metrics.pickscore\] model = "):
        PickScore(model=str(tmp_path / "absent"), processor=str(proc_dir)).score(
            [Sample(random_images(1)[0], "x")])
