"""FVD: the Fréchet formula in closed form and against StyleGAN-V's scipy version, the I3D's
pytorch-i3d layout and TF SAME padding, the preprocessing against common_metrics_on_video_quality's,
and the scorer end to end on a narrow random-weight I3D."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from metrics import SCORERS, Kind, Modality
from metrics._frechet import frechet_distance, frechet_from_features, gaussian
from metrics._i3d import MIXED, InceptionI3d, preprocess, same_pad
from metrics.fvd import FVD, MIN_CLIPS, FewClipsWarning
from tests.metrics._clips import as_arrays, moving_square, noise_clip, static

TINY_WIDTH = 1 / 16


def stylegan_v_fvd(a: np.ndarray, b: np.ndarray) -> float:
    """StyleGAN-V's frechet_video_distance.compute_fvd arithmetic, transcribed."""
    mu_gen, sigma_gen = a.mean(axis=0), np.cov(a, rowvar=False)
    mu_real, sigma_real = b.mean(axis=0), np.cov(b, rowvar=False)
    m = np.square(mu_gen - mu_real).sum()
    s = scipy.linalg.sqrtm(np.dot(sigma_gen, sigma_real))  # upstream's disp=False: deprecated
    return float(np.real(m + np.trace(sigma_gen + sigma_real - s * 2)))


def test_frechet_closed_forms_and_stylegan_v() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    assert frechet_from_features(x, x) == pytest.approx(0.0, abs=1e-9)
    shift = np.array([1.0, -2.0, 0.5, 0.0, 3.0, 1.0])
    assert frechet_from_features(x, x + shift) == pytest.approx(float(shift @ shift), rel=1e-9)
    # Scaled by a about the mean: S_y = a² S_x, so d² = (1 - a)² tr S_x.
    a = 1.7
    y = x.mean(0) + a * (x - x.mean(0))
    want = (1 - a) ** 2 * np.trace(np.cov(x, rowvar=False))
    assert frechet_from_features(x, y) == pytest.approx(want, rel=1e-9)
    z = rng.normal(size=(200, 6)) * 2 + 1
    assert frechet_from_features(x, z) == pytest.approx(stylegan_v_fvd(x, z), rel=1e-7)
    # Fewer samples than dimensions (singular covariances): finite, and 0 for identical sets up
    # to the square roots of round-off eigenvalues (~1e-8 each), against a trace of ~40.
    few = rng.normal(size=(5, 40))
    assert frechet_from_features(few, few) == pytest.approx(0.0, abs=1e-5)
    assert frechet_distance(gaussian(torch.from_numpy(few)), gaussian(few + 1)) == pytest.approx(40.0)
    with pytest.raises(ValueError, match="n >= 2"):
        gaussian(few[:1])
    with pytest.raises(ValueError, match="widths differ"):
        frechet_from_features(few, few[:, :3])


def test_same_padding_is_tensorflows() -> None:
    for n in range(1, 12):
        for k, s in ((7, 2), (3, 2), (2, 2), (3, 1), (1, 1)):
            pad = same_pad((n,), (k,), (s,))
            assert (n + sum(pad) - k) // s + 1 == math.ceil(n / s), (n, k, s)
            assert pad[0] == sum(pad) // 2  # the smaller half before, as TF
    x = torch.randn(1, 2, 5, 6, 7)
    w = torch.randn(3, 2, 3, 3, 3)
    ours = F.conv3d(F.pad(x, same_pad((5, 6, 7), (3, 3, 3), (1, 1, 1))), w)
    assert torch.allclose(ours, F.conv3d(x, w, padding="same"), atol=1e-5)


def test_i3d_has_pytorch_i3ds_names_and_shapes() -> None:
    with torch.device("meta"):
        state = InceptionI3d().state_dict()
    units = ["Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3"]
    units += [f"{m}.{b}" for m in MIXED for b in ("b0", "b1a", "b1b", "b2a", "b2b", "b3b")]
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    want = {f"{u}.conv3d.weight" for u in units} | {f"{u}.bn.{p}" for u in units for p in bn}
    assert set(state) == want | {"logits.conv3d.weight", "logits.conv3d.bias"}
    # Widths from pytorch_i3d.py's constructor (in_channels of Mixed_4b: 128+192+96+64, ...).
    shapes = {"Conv3d_1a_7x7.conv3d.weight": (64, 3, 7, 7, 7),
              "Conv3d_2c_3x3.conv3d.weight": (192, 64, 3, 3, 3),
              "Mixed_4b.b0.conv3d.weight": (192, 480, 1, 1, 1),
              "Mixed_5c.b2b.conv3d.weight": (128, 48, 3, 3, 3),
              "Mixed_5b.b3b.conv3d.weight": (128, 832, 1, 1, 1),
              "logits.conv3d.weight": (400, 1024, 1, 1, 1)}
    assert {k: tuple(state[k].shape) for k in shapes} == shapes


def common_metrics_preprocess(video: torch.Tensor, resolution: int = 224) -> torch.Tensor:
    """common_metrics_on_video_quality fvd/videogpt preprocess_single, then x2; THWC uint8 in."""
    video = video.permute(0, 3, 1, 2).float() / 255.0
    t, c, h, w = video.shape
    scale = resolution / min(h, w)
    target = (resolution, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), resolution)
    video = F.interpolate(video, size=target, mode="bilinear", align_corners=False)
    t, c, h, w = video.shape
    w0, h0 = (w - resolution) // 2, (h - resolution) // 2
    video = video[:, :, h0 : h0 + resolution, w0 : w0 + resolution].permute(1, 0, 2, 3).contiguous()
    return (video - 0.5) * 2


def test_preprocessing_is_the_ports() -> None:
    frames = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (3, 30, 52, 3), dtype=np.uint8))
    got = preprocess(frames.permute(0, 3, 1, 2))
    assert got.shape == (3, 3, 224, 224)
    assert torch.allclose(got, common_metrics_preprocess(frames), atol=1e-6)


@pytest.fixture(scope="module")
def i3d_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = InceptionI3d(width=TINY_WIDTH)
    for m in model.modules():  # random BatchNorm statistics, so they matter
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("i3d") / "i3d_tiny.pt"
    # An older checkpoint's layout: no num_batches_tracked (BatchNorm fills it in on load).
    torch.save({k: v for k, v in model.state_dict().items() if "num_batches" not in k}, path)
    return path


def test_fvd_scores_sets_of_clips(i3d_file: Path) -> None:
    assert SCORERS.get("fvd") is FVD
    assert FVD.kind == Kind.SET and FVD.modality == Modality.VIDEO and not FVD.higher_is_better
    fvd = FVD(weights=str(i3d_file), width=TINY_WIDTH, batch_size=3)
    real = [moving_square(s) for s in range(4)]
    fake = [noise_clip(s) for s in range(4)]
    with pytest.warns(FewClipsWarning, match=f"4 clips.*{MIN_CLIPS}"):
        same = fvd.score_set(real, real)
    with pytest.warns(FewClipsWarning):
        far = fvd.score_set(fake, real)
    assert same == pytest.approx(0.0, abs=1e-6 * far) and far > 0
    # The value is the Fréchet distance of the I3D logits, each clip embedded once (cached).
    model = fvd._load()
    want = []
    for clip in (*real, *fake):
        x = preprocess(torch.from_numpy(as_arrays(clip)).permute(0, 3, 1, 2))
        with torch.inference_mode():
            want.append(model(x[None]).double()[0].numpy())
    assert far == pytest.approx(frechet_from_features(np.stack(want[:4]), np.stack(want[4:])), rel=1e-6)
    assert len(fvd._cache) == 8
    ident = fvd.identity()
    assert ident["revision"] == str(i3d_file) and "first 16 frames" in ident["preprocessing"]


def test_fvd_refuses_what_it_cannot_measure(i3d_file: Path) -> None:
    fvd = FVD(weights=str(i3d_file), width=TINY_WIDTH)
    with pytest.raises(ValueError, match="at least 2 clips"):
        fvd.score_set([static(0)], [static(1), static(2)])
    with pytest.raises(ValueError, match="at least 9 frames"):
        fvd.score_set([static(0, frames=5)] * 2, [static(1)] * 2)
    with pytest.raises(ValueError, match="frames must be at least 9"):
        FVD(frames=8)
    with pytest.raises(ValueError, match="width"):
        FVD(width=0)


def test_missing_weights_name_the_file_and_the_option(tmp_path: Path) -> None:
    from metrics._weights import MissingWeights

    path = str(tmp_path / "absent" / "i3d_pretrained_400.pt")
    with (pytest.warns(FewClipsWarning),
          pytest.raises(MissingWeights, match=r"^fvd: cannot load weights from local path .*"
                                              r"\[metrics\.fvd\] weights = ")):
        FVD(weights=path).score_set([static(0), static(1)], [static(2), static(3)])
