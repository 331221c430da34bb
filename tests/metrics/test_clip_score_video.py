"""CLIP-Score over a clip's frames equals the image CLIP-Score of each frame, averaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metrics import SCORERS, Kind, Modality, Sample
from tests.metrics._clips import moving_square, noise_clip


def test_mean_of_the_image_scores_of_every_frame(tiny_clip: Path) -> None:
    cls = SCORERS.get("clip_score_video")
    assert cls.modality == Modality.VIDEO and cls.kind == Kind.PER_IMAGE and cls.higher_is_better
    clips, prompts = (moving_square(0), noise_clip(2)), ("a yellow square", "static noise")
    image = SCORERS.get("clip_score")(model=str(tiny_clip))
    want = [np.mean(image.score([Sample(f, p) for f in c])) for c, p in zip(clips, prompts, strict=True)]
    got = cls(model=str(tiny_clip), batch_size=4).score(
        [Sample(c[4], p, frames=c) for c, p in zip(clips, prompts, strict=True)])
    assert got == pytest.approx(want, rel=1e-5)
    assert got[0] != pytest.approx(got[1])
    assert "every frame, mean over frames" in cls(model=str(tiny_clip)).preprocessing()
