"""VBench's subject (DINO) and background (CLIP) consistency on tiny random models, against
transcriptions of vbench/subject_consistency.py, background_consistency.py and utils.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Lambda, Normalize, Resize
from transformers import CLIPModel

from metrics import SCORERS, Kind, Modality, Sample
from metrics._video import consistency
from metrics.subject_consistency import build_dino, dino_features, dino_pos_embed
from tests.metrics._clips import as_arrays, moving_square, noise_clip

TINY = {"patch_size": 16, "embed_dim": 32, "depth": 2, "num_heads": 2}


def vbench_consistency(features: torch.Tensor) -> float:
    """The per-frame loop of vbench's subject_consistency(), one clip."""
    video_sim = 0.0
    for i in range(len(features)):
        f = F.normalize(features[i : i + 1], dim=-1, p=2)
        if i == 0:
            first = f
        else:
            sim_pre = max(0.0, F.cosine_similarity(former, f).item())  # noqa: F821 - set on i == 0
            sim_fir = max(0.0, F.cosine_similarity(first, f).item())
            video_sim += (sim_pre + sim_fir) / 2
        former = f  # noqa: F841
    return video_sim / (len(features) - 1)


def uint8_frames(clip) -> torch.Tensor:
    return torch.from_numpy(as_arrays(clip)).permute(0, 3, 1, 2)


@pytest.fixture(scope="module")
def dino_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("dino") / "dino_tiny.pth"
    state = build_dino(TINY).state_dict()
    # DINO's own checkpoint names, so dino_vitbase16_pretrain.pth loads unchanged.
    assert {"cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight",
            "blocks.1.mlp.fc2.bias", "norm.weight"} <= set(state)
    torch.save(state, path)
    return path


def test_consistency_is_vbenchs_loop() -> None:
    feats = torch.randn(9, 7, generator=torch.Generator().manual_seed(0))
    feats[5] = -feats[0]  # a negative cosine, clamped at 0
    assert consistency(feats) == pytest.approx(vbench_consistency(feats))
    assert consistency(torch.ones(3, 4)) == pytest.approx(1.0)


def test_dino_forward_is_timms_on_square_frames_and_interpolates_like_dino(dino_file: Path) -> None:
    vit = build_dino(TINY)
    vit.load_state_dict(torch.load(dino_file, weights_only=True))
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(dino_features(vit, x), vit.forward_features(x)[:, 0], atol=1e-5)
    # DINO's interpolate_pos_encoding for a 224 x 398 frame: a 14 x 24 grid.
    n, side, dim = 196, 14, 32
    want = F.interpolate(vit.pos_embed[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2),
                         scale_factor=(14.1 / math.sqrt(n), 24.1 / math.sqrt(n)), mode="bicubic")
    got = dino_pos_embed(vit, 14, 24)
    assert got.shape == (1, 1 + 14 * 24, dim) and torch.equal(got[:, :1], vit.pos_embed[:, :1])
    assert torch.allclose(got[:, 1:], want.permute(0, 2, 3, 1).reshape(1, -1, dim))


def test_subject_consistency_is_vbenchs_procedure(dino_file: Path) -> None:
    cls = SCORERS.get("subject_consistency")
    assert cls.modality == Modality.VIDEO and cls.kind == Kind.PER_IMAGE and cls.higher_is_better
    vit = build_dino(TINY)
    vit.load_state_dict(torch.load(dino_file, weights_only=True))
    transform = Compose([Resize(size=224, antialias=False), Lambda(lambda x: x.float().div(255.0)),
                         Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])  # dino_transform
    # The second clip is 24 x 16: a 224 x 336 input, a 14 x 21 patch grid (interpolated).
    clips = (moving_square(0, frames=5), tuple(f.resize((24, 16)) for f in noise_clip(1, frames=5, size=16)))
    want = []
    for clip in clips:
        images = transform(uint8_frames(clip))
        with torch.no_grad():
            want.append(vbench_consistency(torch.cat([dino_features(vit, im[None]) for im in images])))
    scorer = cls(weights=str(dino_file), architecture=TINY, batch_size=2)
    got = scorer.score([Sample(c[2], "", frames=c) for c in clips])
    assert got == pytest.approx(want, abs=1e-5) and got[0] > got[1]
    with pytest.raises(ValueError, match="architecture takes"):
        cls(architecture={"layers": 2})


def test_background_consistency_is_vbenchs_procedure(tiny_clip: Path) -> None:
    cls = SCORERS.get("background_consistency")
    assert cls.modality == Modality.VIDEO and cls.higher_is_better
    model = CLIPModel.from_pretrained(tiny_clip).eval()
    n_px = model.config.vision_config.image_size  # 32
    transform = Compose([Resize(n_px, interpolation=InterpolationMode.BICUBIC, antialias=False),
                         CenterCrop(n_px), Lambda(lambda x: x.float().div(255.0)),
                         Normalize((0.48145466, 0.4578275, 0.40821073),
                                   (0.26862954, 0.26130258, 0.27577711))])  # clip_transform
    clip = tuple(f.resize((48, 40)) for f in moving_square(2, frames=5))
    with torch.no_grad():
        feats = model.get_image_features(pixel_values=transform(uint8_frames(clip)))
    feats = getattr(feats, "pooler_output", feats)
    (got,) = cls(model=str(tiny_clip)).score([Sample(clip[2], "", frames=clip)])
    assert got == pytest.approx(vbench_consistency(feats), abs=1e-5)
    assert 0.0 <= got <= 1.0 and not np.isnan(got)
