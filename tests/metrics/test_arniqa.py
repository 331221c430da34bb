"""ARNIQA with random weights written in the upstream file formats, loaded from local paths.

The expected values come from torchmetrics' own ``ARNIQA`` metric, which fetches its weights
with torch.hub: pointing ``TORCH_HOME`` at a folder that already holds the files makes it
load them offline, so our scorer is compared with the unmodified torchmetrics pipeline.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from torch import nn
from torchmetrics.image.arniqa import ARNIQA as TorchmetricsARNIQA
from torchvision.models import resnet50

from metrics import SCORERS, Kind, Sample
from metrics.arniqa import ARNIQA, weight_files
from metrics.base import to_tensor
from tests.metrics._tiny_clip import random_images


class _Regressor(nn.Module):
    """Stands in for the upstream regressor: a TorchScript module with weights and biases."""

    def __init__(self) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1, 4096) * 0.5)
        self.biases = nn.Parameter(torch.tensor(50.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weights.T + self.biases


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random ARNIQA.pth (encoder keys under "model.", plus a projector) + regressor file."""
    folder = tmp_path_factory.mktemp("arniqa")
    encoder_file, regressor_file = weight_files("koniq10k")
    torch.manual_seed(0)
    encoder = nn.Sequential(*list(resnet50().children())[:-1])
    state = {f"model.{k}": v for k, v in encoder.state_dict().items()}
    state["projector.0.weight"] = torch.zeros(4)  # dropped by the loader, as upstream
    torch.save(state, folder / encoder_file)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript deprecation: the upstream file is one
        torch.jit.save(torch.jit.script(_Regressor()), folder / regressor_file)
    return folder


IMAGES = random_images(5, ((64, 64), (96, 64)), seed=3)


def test_registered_with_declared_kind() -> None:
    assert SCORERS.get("arniqa") is ARNIQA
    assert ARNIQA.kind == Kind.PER_IMAGE and ARNIQA.higher_is_better


# torchmetrics' own loader opens the TorchScript regressor without silencing torch's notes.
@pytest.mark.filterwarnings("ignore:.*TorchScript archive:UserWarning")
@pytest.mark.filterwarnings("ignore:.*torch.jit.load:FutureWarning")
def test_equals_torchmetrics_loading_the_same_files(
    weights_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = ARNIQA(weights_dir=str(weights_dir), batch_size=2).score(
        [Sample(im, "") for im in IMAGES]
    )
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    for name in weight_files("koniq10k"):
        (checkpoints / name).write_bytes((weights_dir / name).read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    metric = TorchmetricsARNIQA(regressor_dataset="koniq10k", reduction="none", normalize=True)
    expected = [metric(to_tensor([im])).item() for im in IMAGES]
    assert ours == pytest.approx(expected, abs=1e-5)
    assert len({round(v, 6) for v in ours}) > 1  # the images are told apart

    # Without weights_dir the scorer uses torch.hub's cache, like torchmetrics.
    default = ARNIQA().score([Sample(im, "") for im in IMAGES])
    assert default == pytest.approx(expected, abs=1e-5)


def test_half_precision_runs_under_autocast(weights_dir: Path) -> None:
    samples = [Sample(im, "") for im in IMAGES[:2]]
    full = ARNIQA(weights_dir=str(weights_dir)).score(samples)
    half = ARNIQA(weights_dir=str(weights_dir), dtype="bfloat16")
    assert half.score(samples) == pytest.approx(full, abs=0.05)
    assert half.identity()["dtype"] == "bfloat16"
    assert next(half._load().parameters()).dtype == torch.float32  # weights stay float32


def test_identity_and_options(weights_dir: Path) -> None:
    ident = ARNIQA(weights_dir=str(weights_dir), regressor="kadid10k").identity()
    assert "regressor_kadid10k.pth" in ident["model"]
    assert ident["weights_dir"] == str(weights_dir.resolve())
    assert "(1, 5)" in ident["preprocessing"]
    with pytest.raises(ValueError, match="regressor"):
        ARNIQA(regressor="spaq")
