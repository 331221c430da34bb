"""The video card's clip degradations: deterministic, shape-keeping, purely temporal where they
say so, and ordered by strength."""

from __future__ import annotations

import numpy as np

from metrics.degrade import jpeg
from metrics.degrade_video import VIDEO_DEGRADATIONS, flicker, frame_drops, temporal_blur
from tests.metrics._clips import as_arrays, moving_square, static


def family(name: str) -> list:
    return [d for d in VIDEO_DEGRADATIONS if d.name.startswith(name)]


def test_every_degradation_is_deterministic_keeps_the_clip_shape_and_changes_a_moving_clip() -> None:
    clip = moving_square()
    names = [d.name for d in VIDEO_DEGRADATIONS]
    assert len(names) == len(set(names)) == 12
    assert {n.rsplit("-", 1)[0] for n in names} == {"drop", "tblur", "flicker", "jpeg"}
    for d in VIDEO_DEGRADATIONS:
        a, b = d.apply(clip), d.apply(clip)
        assert len(a) == len(clip) and all(f.size == clip[0].size and f.mode == "RGB" for f in a)
        assert np.array_equal(as_arrays(a), as_arrays(b)), d.name
        assert not np.array_equal(as_arrays(a), as_arrays(clip)), d.name


def test_frame_drops_repeat_the_previous_frame() -> None:
    clip = moving_square()
    arr = as_arrays(clip)
    for every, dropped in ((4, [3, 7]), (3, [2, 5, 8]), (2, [1, 3, 5, 7])):
        out = as_arrays(frame_drops(every)(clip))
        repeats = [i for i in range(1, len(out)) if np.array_equal(out[i], out[i - 1])]
        assert repeats == dropped
        kept = [i for i in range(len(out)) if i not in dropped]
        assert np.array_equal(out[kept], arr[kept])


def test_temporal_damage_leaves_a_static_clip_alone_and_grows_with_strength() -> None:
    still = static()
    for d in (*family("drop"), *family("tblur")):
        assert np.array_equal(as_arrays(d.apply(still)), as_arrays(still)), d.name
    arr = as_arrays(moving_square()).astype(float)
    blurred = [np.abs(as_arrays(d.apply(moving_square())) - arr).mean() for d in family("tblur")]
    assert 0 < blurred[0] < blurred[1] < blurred[2]
    box = as_arrays(temporal_blur(2 / 3)(moving_square())).astype(float)
    assert np.allclose(box[4], arr[3:6].mean(0), atol=0.5)  # a 3-frame box average inside the clip


def test_flicker_scales_each_frames_brightness_by_its_amplitude() -> None:
    still = static()
    base = as_arrays(still).astype(float).mean(axis=(1, 2, 3))
    for amplitude in (0.02, 0.05, 0.10):
        gains = as_arrays(flicker(amplitude)(still)).astype(float).mean(axis=(1, 2, 3)) / base
        assert np.allclose(np.abs(gains - 1), amplitude, atol=0.005), amplitude
        assert (gains > 1).any() and (gains < 1).any()  # up and down: flicker, not a fade


def test_per_frame_jpeg_is_the_image_cards_jpeg_on_every_frame() -> None:
    clip = moving_square()
    for d, quality in zip(family("jpeg"), (90, 70, 50), strict=True):
        want = np.stack([np.asarray(jpeg(quality)(f)) for f in clip])
        assert np.array_equal(as_arrays(d.apply(clip)), want)
