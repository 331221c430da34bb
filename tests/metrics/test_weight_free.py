"""Sharpness, PSNR and SSIM on images whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from metrics import SCORERS, Kind, Sample


def image(array: np.ndarray) -> Image.Image:
    return Image.fromarray(array.astype(np.uint8))


FLAT = image(np.full((32, 32, 3), 128))
CHECKER = image((np.indices((32, 32)).sum(0) % 2 * 255)[..., None].repeat(3, -1))
NOISY = image(np.random.default_rng(0).integers(0, 256, (32, 32, 3)))


def test_sharpness_is_zero_on_flat_and_known_on_a_checkerboard() -> None:
    flat, checker = SCORERS.get("sharpness")().score([Sample(FLAT, ""), Sample(CHECKER, "")])
    assert flat == 0.0
    # Laplacian of a 0/255 checkerboard is +-1020 everywhere: variance 1020².
    assert checker == pytest.approx(1020.0**2)


def test_psnr_matches_its_definition_and_caps_identical_images_at_100_db() -> None:
    psnr = SCORERS.get("psnr")()
    same, other = psnr.score([Sample(NOISY, "", NOISY), Sample(NOISY, "", FLAT)])
    assert same == 100.0  # tests/metrics/test_psnr.py: why 100 dB
    mse = np.mean((np.asarray(NOISY, float) / 255 - np.asarray(FLAT, float) / 255) ** 2)
    assert other == pytest.approx(10 * math.log10(1 / mse), rel=1e-4)


def test_ssim_is_one_for_identical_images_and_lower_otherwise() -> None:
    ssim = SCORERS.get("ssim")()
    same, other = ssim.score([Sample(NOISY, "", NOISY), Sample(NOISY, "", FLAT)])
    assert same == pytest.approx(1.0) and other < 0.1


def test_paired_metrics_refuse_missing_or_mismatched_references() -> None:
    for name in ("psnr", "ssim"):
        scorer = SCORERS.get(name)()
        assert scorer.kind == Kind.PAIRED
        with pytest.raises(ValueError, match="baseline"):
            scorer.score([Sample(NOISY, "")])
        with pytest.raises(ValueError, match="size"):
            scorer.score([Sample(NOISY, "", image(np.zeros((16, 16, 3))))])


def test_registry_refuses_duplicate_names() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        SCORERS.register(type("AnotherPSNR", (), {"name": "psnr"}))
