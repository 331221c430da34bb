"""HPSv2 on a tiny random open_clip model through the real checkpoint-loading code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from metrics import SCORERS, Kind, Sample
from metrics.hpsv2 import CHECKPOINTS, HPSv2, image_transform

TINY_ARCH = "evalsuite-tiny-hps"
PROMPTS = ["a red cat on a table", "two blue dogs", "an oil painting of a lighthouse at dusk"]


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(2)
    return [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for h, w in ((256, 256), (200, 300), (320, 180))
    ]


@pytest.fixture(scope="module")
def tiny_hps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    """A folder with HPS_v2.1_compressed.pt for a tiny open_clip architecture."""
    open_clip = pytest.importorskip("open_clip")
    root = tmp_path_factory.mktemp("hps")
    config = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "head_width": 32, "patch_size": 32},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
    }
    (root / f"{TINY_ARCH}.json").write_text(json.dumps(config))
    open_clip.add_model_config(root / f"{TINY_ARCH}.json")  # open_clip's API for new archs
    torch.manual_seed(0)
    state = open_clip.create_model(TINY_ARCH, pretrained=None).state_dict()
    # The hpsv2 package saves {"state_dict": ...} from a DistributedDataParallel model.
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, root / CHECKPOINTS["v2.1"])
    return root, state


def test_registered_with_declared_attributes() -> None:
    cls = SCORERS.get("hpsv2")
    assert cls is HPSv2 and cls.higher_is_better is True and cls.kind is Kind.PER_IMAGE


def test_missing_open_clip_gives_one_line_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "open_clip", None)  # what an install without the extra sees
    with pytest.raises(ImportError) as info:
        HPSv2(model=str(tmp_path)).score([Sample(Image.new("RGB", (8, 8)), "x")])
    message = str(info.value)
    assert "\n" not in message and "evalsuite[hpsv2]" in message and "open_clip_torch" in message


def test_scores_are_cosine_similarities(tiny_hps: tuple[Path, dict]) -> None:
    open_clip = pytest.importorskip("open_clip")
    root, state = tiny_hps
    images = _images()
    scorer = HPSv2(model=str(root), arch=TINY_ARCH, batch_size=2)
    got = scorer.score([Sample(im, p) for im, p in zip(images, PROMPTS, strict=True)])

    reference = open_clip.create_model(TINY_ARCH, pretrained=None).eval()
    reference.load_state_dict(state)
    pixels = torch.stack([image_transform(224)(im) for im in images])
    tokens = open_clip.get_tokenizer(TINY_ARCH)(PROMPTS)
    with torch.no_grad():
        img = F.normalize(reference.encode_image(pixels), dim=-1)
        txt = F.normalize(reference.encode_text(tokens), dim=-1)
    want = (img @ txt.T).diagonal()
    np.testing.assert_allclose(got, want.tolist(), atol=1e-5)
    assert all(-1.0 <= v <= 1.0 for v in got) and len(set(np.round(got, 6))) == 3


def test_preprocessing_and_identity(tiny_hps: tuple[Path, dict]) -> None:
    root, _ = tiny_hps
    x = image_transform(224)(Image.new("RGBA", (448, 300), (255, 0, 0, 255)))
    assert x.shape == (3, 224, 224)
    assert torch.allclose(x[0], torch.full((224, 224), (1 - 0.48145466) / 0.26862954), atol=1e-4)
    scorer = HPSv2(model=str(root / CHECKPOINTS["v2.1"]), arch=TINY_ARCH)
    scorer.score([Sample(_images()[0], PROMPTS[0])])
    ident = scorer.identity()
    assert ident["checkpoint"] == "HPS_v2.1_compressed.pt" and ident["arch"] == TINY_ARCH
    assert ident["revision"].startswith("sha256:") and ident["precision"] == "float32"
    assert "bicubic" in ident["preprocessing"]


def test_rejects_wrong_checkpoint_and_options(tmp_path: Path) -> None:
    pytest.importorskip("open_clip")
    torch.save({"state_dict": {"visual.proj": torch.zeros(2)}}, tmp_path / CHECKPOINTS["v2.1"])
    with pytest.raises(ValueError, match="not an HPSv2"):
        HPSv2(model=str(tmp_path), arch="RN50").load()
    with pytest.raises(ValueError, match="version"):
        HPSv2(version="v3")
    with pytest.raises(ValueError, match="precision"):
        HPSv2(precision="int8")
