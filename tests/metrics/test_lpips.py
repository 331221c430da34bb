"""LPIPS with random backbone weights saved locally, against torchmetrics' own LPIPS."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from torchmetrics.functional.image import lpips as tm_lpips
from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

from metrics import SCORERS, Kind, Sample
from metrics.base import to_tensor
from metrics.lpips import LPIPS, _default_weights, load_backbone
from tests.metrics._tiny_clip import random_images

TORCHVISION = {"alex": "alexnet", "squeeze": "squeezenet1_1"}  # VGG works alike, only slower


def _random_backbone(net: str) -> torchvision.models.AlexNet | torchvision.models.SqueezeNet:
    torch.manual_seed(0)
    return getattr(torchvision.models, TORCHVISION[net])(weights=None).eval()


@pytest.fixture(scope="module")
def backbone_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Random ImageNet-classifier weights per net, saved as torchvision state dicts
    (``features.*`` only: the classifier head is not used and would be large)."""
    folder = tmp_path_factory.mktemp("lpips")
    files = {}
    for net in TORCHVISION:
        state = {k: v for k, v in _random_backbone(net).state_dict().items()
                 if k.startswith("features.")}
        files[net] = folder / f"{TORCHVISION[net]}.pth"
        torch.save(state, files[net])
    return files


IMAGES = random_images(5, ((64, 64), (96, 64)), seed=1)
REFS = random_images(5, ((64, 64), (96, 64)), seed=2)


def test_registered_as_lower_is_better_paired() -> None:
    assert SCORERS.get("lpips") is LPIPS
    assert LPIPS.kind == Kind.PAIRED and not LPIPS.higher_is_better and LPIPS.ideal == 0.0


@pytest.mark.parametrize("net", list(TORCHVISION))
def test_equals_torchmetrics_with_the_same_backbone(
    net: str, backbone_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    samples = [Sample(a, "", b) for a, b in zip(IMAGES, REFS, strict=True)]
    ours = LPIPS(net=net, backbone_weights=str(backbone_files[net]), batch_size=2).score(samples)

    # torchmetrics asks torchvision for the backbone (a download); hand it the same random
    # network instead, so its own slicing, heads and maths produce the expected values.
    backbone = _random_backbone(net)
    monkeypatch.setattr(tm_lpips, "_get_tv_model_features", lambda *a, **k: backbone.features)
    metric = LearnedPerceptualImagePatchSimilarity(net_type=net, reduction="none", normalize=True)
    expected = [metric(to_tensor([a]), to_tensor([b])).item() for a, b in zip(IMAGES, REFS, strict=True)]
    assert ours == pytest.approx(expected, rel=1e-5)
    assert all(v > 0 for v in ours)


def test_identical_images_score_zero(backbone_files: dict[str, Path]) -> None:
    scorer = LPIPS(backbone_weights=str(backbone_files["alex"]))
    assert scorer.score([Sample(im, "", im.copy()) for im in IMAGES[:2]]) == [0.0, 0.0]


def test_default_backbone_comes_from_torch_hub_cache(
    backbone_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Offline, torchvision's weights load from $TORCH_HOME/hub/checkpoints/<url basename>.
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    name = _default_weights("alex").url.rsplit("/", 1)[-1]
    (checkpoints / name).write_bytes(backbone_files["alex"].read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    samples = [Sample(a, "", b) for a, b in zip(IMAGES[:2], REFS[:2], strict=True)]
    default = LPIPS()
    assert default.score(samples) == LPIPS(backbone_weights=str(backbone_files["alex"])).score(
        samples
    )
    assert default.identity()["revision"].endswith(name)


def test_needs_same_size_references(backbone_files: dict[str, Path]) -> None:
    scorer = LPIPS(backbone_weights=str(backbone_files["alex"]))
    with pytest.raises(ValueError, match="baseline"):
        scorer.score([Sample(IMAGES[0], "")])
    with pytest.raises(ValueError, match="size"):
        scorer.score([Sample(IMAGES[0], "", REFS[1])])


def test_incomplete_backbone_weights_are_an_error(backbone_files: dict[str, Path]) -> None:
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    model = _NoTrainLpips(net="alex", pretrained=True, pnet_rand=True)
    state = torch.load(backbone_files["alex"], weights_only=True)
    del state["features.3.weight"]
    with pytest.raises(ValueError, match="features.3.weight"):
        load_backbone(model, state)


def test_options() -> None:
    with pytest.raises(ValueError, match="net"):
        LPIPS(net="resnet")
    ident = LPIPS(net="squeeze", backbone_weights="/weights/squeeze.pth").identity()
    assert ident["revision"] == "/weights/squeeze.pth" and ident["dtype"] == "float32"
    assert "lpips-squeeze" in ident["model"]
