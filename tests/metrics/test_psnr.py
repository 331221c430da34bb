"""PSNR is finite for identical images (capped at 100 dB), and so is everything built on it.

Issue 17 item 3: a cache that skips no step on a prompt gives a bit-identical image, whose
PSNR was +inf; the mean, its CI and the delta against the baseline then became +-inf.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from metrics import SCORERS, Sample
from metrics.psnr import PSNR_CAP_DB
from reports.bootstrap import cluster_bootstrap, paired_delta
from reports.frontier import compare_metric, reference_values
from reports.metric_card import paired_cell
from reports.metric_info import MetricInfo


def noisy(size: int, seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8))


def nudged(image: Image.Image, values: int) -> Image.Image:
    """``image`` with the first ``values`` channel values moved by one level."""
    a = np.asarray(image).copy().reshape(-1)
    a[:values] = np.where(a[:values] < 255, a[:values] + 1, a[:values] - 1)
    return Image.fromarray(a.reshape(np.asarray(image).shape))


def test_identical_images_score_the_cap_and_distinct_ones_their_exact_value() -> None:
    psnr = SCORERS.get("psnr")()
    small = noisy(32, 0)
    same, one_level = psnr.score([Sample(small, "", small), Sample(nudged(small, 1), "", small)])
    assert same == PSNR_CAP_DB == 100.0
    # The closest distinct 8-bit image at 32x32: MSE (1/255)^2 / 3072 -> 83.0 dB, untouched.
    assert one_level == pytest.approx(20 * math.log10(255) + 10 * math.log10(3 * 32 * 32), abs=1e-3)
    assert one_level < same


def test_values_above_the_cap_are_clamped_to_it() -> None:
    # At 256x256 one level in one value is 101.1 dB: indistinguishable from identical, capped.
    big = noisy(256, 1)
    (value,) = SCORERS.get("psnr")().score([Sample(nudged(big, 1), "", big)])
    assert value == PSNR_CAP_DB


def test_psnr_declares_its_perfect_value_and_records_the_cap() -> None:
    cls = SCORERS.get("psnr")
    assert cls.ideal is None and cls.perfect == PSNR_CAP_DB  # reports show PSNR's value, not a delta
    assert "100 dB" in cls().identity()["preprocessing"]
    info = MetricInfo.of(cls)
    assert info.reference == PSNR_CAP_DB and not info.has_delta


def test_aggregates_cis_and_deltas_over_identical_pairs_are_finite() -> None:
    psnr = SCORERS.get("psnr")()
    refs = {(p, s): noisy(32, 10 * p + s) for p in range(4) for s in range(2)}
    # The cache skips nothing on prompts 0 and 1 (bit-identical images), something on 2 and 3.
    cache_images = {k: (im if k[0] < 2 else nudged(im, 40 * (k[0] + 1))) for k, im in refs.items()}
    fewer_images = {k: nudged(im, 500) for k, im in refs.items()}
    keys = list(refs)

    def scored(images: dict) -> dict:
        return dict(zip(keys, psnr.score([Sample(images[k], "", refs[k]) for k in keys]), strict=True))

    cache, fewer = scored(cache_images), scored(fewer_images)
    assert all(math.isfinite(v) for v in cache.values())
    mean = cluster_bootstrap(cache)
    assert math.isfinite(mean.estimate) and all(math.isfinite(x) for x in mean.ci)
    delta = paired_delta(cache, fewer)
    assert math.isfinite(delta.estimate) and all(math.isfinite(x) for x in delta.ci)
    assert delta.estimate > 0  # identical beats near-identical
    # The baseline as the fewer-steps partner: its own PSNR is the cap, not +inf
    # (tune's vs_fewer_steps printed a delta of -inf with CI [-inf, -inf]).
    info = MetricInfo.of(SCORERS.get("psnr"))
    base = reference_values(info, keys)
    assert set(base.values()) == {PSNR_CAP_DB}
    versus_base = compare_metric("psnr", info, cache, base)
    assert math.isfinite(versus_base.delta) and all(math.isfinite(x) for x in versus_base.ci)
    assert versus_base.delta < 0  # half the prompts identical: no verdict claimed either way
    assert compare_metric("psnr", info, fewer, base).verdict == "worse"
    untouched = compare_metric("psnr", info, {k: cache[k] for k in keys[:4]}, base)
    assert untouched.delta == 0.0  # identical images are exactly as good as the baseline


def test_the_metric_card_flags_a_degradation_that_leaves_psnr_at_its_cap() -> None:
    keys = [("a", 0), ("b", 0)]
    untouched = paired_cell("none", dict.fromkeys(keys, PSNR_CAP_DB), None, None, perfect=PSNR_CAP_DB)
    moved = paired_cell("blur", {keys[0]: 40.0, keys[1]: PSNR_CAP_DB}, None, None, perfect=PSNR_CAP_DB)
    assert untouched.inside_floor is True and moved.inside_floor is False


@pytest.mark.parametrize("name", ["psnr", "ssim"])
def test_weight_free_paired_metrics_are_finite_on_identical_images(name: str) -> None:
    image = noisy(32, 3)
    flat = Image.new("RGB", (32, 32), (0, 0, 0))
    values = SCORERS.get(name)().score([Sample(image, "", image), Sample(flat, "", flat)])
    assert all(math.isfinite(v) for v in values), values
