"""The metric card's degradations: deterministic, size-preserving, and doing what they say."""

from __future__ import annotations

import numpy as np
from PIL import Image

from metrics.degrade import DEGRADATIONS


def checker(size: int = 64) -> Image.Image:
    y, x = np.mgrid[:size, :size]
    arr = np.where((x // 4 + y // 4) % 2 == 0, 200, 40).astype(np.uint8)
    return Image.fromarray(np.stack([arr, arr // 2 + 60, 255 - arr], axis=-1))


def laplacian_var(im: Image.Image) -> float:
    g = np.asarray(im.convert("L"), dtype=np.float64)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(lap.var())


def test_every_degradation_is_deterministic_changes_the_image_and_keeps_its_size():
    im = checker()
    names = [d.name for d in DEGRADATIONS]
    assert len(names) == len(set(names)) == 9
    assert sum(n.startswith("blur") for n in names) == 3 and sum(n.startswith("jpeg") for n in names) == 3
    for d in DEGRADATIONS:
        a, b = d.apply(im), d.apply(im)
        assert a.size == im.size and a.mode == "RGB"
        assert np.array_equal(np.asarray(a), np.asarray(b)), d.name
        assert not np.array_equal(np.asarray(a), np.asarray(im)), d.name


def test_blur_strengths_are_ordered():
    im = checker()
    blurs = [d for d in DEGRADATIONS if d.name.startswith("blur")]
    sharp = [laplacian_var(d.apply(im)) for d in blurs]
    assert laplacian_var(im) > sharp[0] > sharp[1] > sharp[2]


def test_colour_shift_is_slight_and_warm():
    im = checker()
    shift = next(d for d in DEGRADATIONS if d.name == "colour-shift").apply(im)
    diff = np.asarray(shift, dtype=int) - np.asarray(im, dtype=int)
    assert diff[..., 0].mean() > 0 > diff[..., 2].mean() and np.abs(diff).max() <= 11
