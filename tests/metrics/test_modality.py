"""The video interface of the scorer Protocol: modality, clip samples, and their checks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from metrics import SCORERS, Modality, Sample
from metrics.base import poster_frame, require_clips
from prompts import PROMPT_SETS, PromptError, load_set, set_modality


def clip(n: int, size: int = 8, seed: int = 0) -> tuple[Image.Image, ...]:
    rng = np.random.default_rng(seed)
    return tuple(Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)) for _ in range(n))


def test_every_scorer_declares_image_or_video() -> None:
    assert {str(cls.modality) for _, cls in SCORERS} <= {"image", "video"}
    assert SCORERS.get("psnr").modality == Modality.IMAGE == "image"


def test_the_poster_frame_is_the_middle_frame() -> None:
    frames = clip(9)
    assert poster_frame(frames) is frames[4]
    assert poster_frame(frames[:4]) is frames[2]
    with pytest.raises(ValueError, match="at least one frame"):
        poster_frame(())


def test_clip_checks_name_the_scorer_and_the_mismatch() -> None:
    frames = clip(3)
    ok = Sample(frames[1], "p", frames[1], frames=frames, reference_frames=clip(3, seed=1))
    assert require_clips([ok], "x", paired=True) == [frames]
    with pytest.raises(ValueError, match="x scores clips"):
        require_clips([Sample(frames[0], "p")], "x")
    with pytest.raises(ValueError, match="x needs the baseline clip"):
        require_clips([Sample(frames[0], "p", frames=frames)], "x", paired=True)
    with pytest.raises(ValueError, match="clip has 3 frames, the baseline's 2"):
        require_clips([Sample(frames[0], "p", frames=frames, reference_frames=frames[:2])], "x", paired=True)
    with pytest.raises(ValueError, match="frame size"):
        require_clips([Sample(frames[0], "p", frames=frames, reference_frames=clip(3, 4))], "x", paired=True)


def test_prompt_sets_declare_their_modality() -> None:
    assert set_modality(PROMPT_SETS.get("smoke")) == "image"
    assert set_modality(PROMPT_SETS.get("video_smoke")) == "video"
    assert set_modality(type("Old", (), {})) == "image"  # a plug-in written before video
    with pytest.raises(PromptError, match="modality 'audio'"):
        set_modality(type("Odd", (), {"name": "odd", "modality": "audio"}))
    items = load_set("video_smoke")
    assert len(items) == 4 and len({p.category for p in items}) == 4
    assert items[0].id == "video_smoke-00000-" + items[0].id.rsplit("-", 1)[1]
