"""PSNR, SSIM and LPIPS over clips: each frame through the image scorer, mean and worst frame."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from metrics import SCORERS, Kind, Modality, Sample
from metrics.psnr import PSNR_CAP_DB
from tests.metrics._clips import moving_square, noise_clip


def damaged(clip: tuple[Image.Image, ...], frame: int, sigma: float) -> tuple[Image.Image, ...]:
    """``clip`` with gaussian noise of ``sigma`` levels added to one frame."""
    out = list(clip)
    a = np.asarray(out[frame], dtype=np.float32)
    a = a + np.random.default_rng(frame).normal(0, sigma, a.shape)
    out[frame] = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))
    return tuple(out)


def clip_sample(clip: tuple[Image.Image, ...], ref: tuple[Image.Image, ...]) -> Sample:
    return Sample(clip[len(clip) // 2], "p", ref[len(ref) // 2], frames=clip, reference_frames=ref)


BASE = moving_square(0)
HURT = damaged(damaged(BASE, 2, 4.0), 6, 20.0)  # frame 6 much worse than frame 2


@pytest.mark.parametrize("metric", ["psnr", "ssim"])
def test_mean_and_worst_are_the_image_scorers_values_reduced(metric: str) -> None:
    image = SCORERS.get(metric)()
    per_frame = image.score([Sample(a, "", b) for a, b in zip(HURT, BASE, strict=True)])
    mean, worst = SCORERS.get(f"{metric}_video"), SCORERS.get(f"{metric}_video_worst")
    assert mean.modality == worst.modality == Modality.VIDEO and mean.kind == Kind.PAIRED
    assert mean.higher_is_better and mean.ideal == image.ideal
    samples = [clip_sample(HURT, BASE), clip_sample(BASE, BASE)]
    same = image.score([Sample(BASE[0], "", BASE[0])])[0]
    assert mean().score(samples) == pytest.approx([np.mean(per_frame), same])
    assert worst().score(samples)[0] == pytest.approx(min(per_frame)) and min(per_frame) == per_frame[6]


def test_psnr_of_identical_clips_is_the_cap_and_frames_option_samples_evenly() -> None:
    assert SCORERS.get("psnr_video")().score([clip_sample(BASE, BASE)]) == [PSNR_CAP_DB]
    # Three evenly spaced frames of nine are 0, 4 and 8: none of them damaged.
    assert SCORERS.get("psnr_video_worst")(frames=3).score([clip_sample(HURT, BASE)]) == [PSNR_CAP_DB]
    with pytest.raises(ValueError, match="frames must be a positive integer"):
        SCORERS.get("psnr_video")(frames=0)


def test_options_are_the_image_scorers_plus_frames() -> None:
    sig = inspect.signature(SCORERS.get("lpips_video"))
    sig.bind(device="cpu", frames=4, net="squeeze", batch_size=2)
    with pytest.raises(TypeError):
        sig.bind(nope=1)
    with pytest.raises(TypeError):
        inspect.signature(SCORERS.get("psnr_video")).bind(net="alex")


def test_lpips_worst_is_the_highest_frame_distance(tmp_path) -> None:
    torch.manual_seed(0)
    state = {k: v for k, v in torchvision.models.squeezenet1_1(weights=None).state_dict().items()
             if k.startswith("features.")}
    torch.save(state, tmp_path / "sq.pth")
    opts = {"net": "squeeze", "backbone_weights": str(tmp_path / "sq.pth")}
    image = SCORERS.get("lpips")(**opts)
    per_frame = image.score([Sample(a, "", b) for a, b in zip(HURT, BASE, strict=True)])
    worst = SCORERS.get("lpips_video_worst")
    assert not worst.higher_is_better and worst.ideal == 0.0
    assert worst(**opts).score([clip_sample(HURT, BASE)]) == pytest.approx([max(per_frame)])
    mean = SCORERS.get("lpips_video")(**opts).score([clip_sample(HURT, BASE)])
    assert mean == pytest.approx([np.mean(per_frame)])


def test_a_clip_without_its_baseline_is_an_error() -> None:
    with pytest.raises(ValueError, match="needs the baseline clip"):
        SCORERS.get("ssim_video")().score([Sample(BASE[4], "p", frames=BASE)])
    with pytest.raises(ValueError, match="9 frames, the baseline's 8"):
        SCORERS.get("ssim_video")().score([clip_sample(noise_clip(1), noise_clip(2, frames=8))])
