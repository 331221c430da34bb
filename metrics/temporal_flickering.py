"""VBench's temporal flickering: how little consecutive frames differ, for static scenes.

Formula as vbench/temporal_flickering.py at 45e79ec (``cal_score``): the mean absolute
difference of each pair of consecutive frames (``calculate_mae``: ``cv2.absdiff`` of the
frames as float32 0..255, averaged over pixels and channels), averaged over the pairs, read
as ``(255 - mean) / 255``; 1 means no change at all between frames. No model.

VBench applies it to clips of static scenes only (its ``temporal_flickering`` prompts, then
a static filter): on a moving scene it measures motion as well as flicker, so read it on
static prompts (``vbench`` prompt set, category ``temporal_flickering``). VBench decodes
the MP4 (BGR, lossy); this scorer reads the lossless frames, so the codec adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from metrics.base import BaseScorer, Clip, Kind, Modality, Sample, register, require_clips


def flicker_score(clip: Clip) -> float:
    """``(255 - mean over consecutive pairs of mean |frame[i] - frame[i+1]|) / 255``."""
    import numpy as np

    if len(clip) < 2:
        raise ValueError("temporal_flickering needs a clip of at least two frames")
    frames = np.stack([np.asarray(f.convert("RGB"), dtype=np.float32) for f in clip])
    per_pair = np.abs(frames[1:] - frames[:-1]).mean(axis=(1, 2, 3))
    return (255.0 - float(per_pair.mean())) / 255.0


@register
class TemporalFlickering(BaseScorer):
    """VBench's temporal flickering, (255 - mean frame difference) / 255; 1 = no flicker."""

    name = "temporal_flickering"
    preload = ("numpy",)
    higher_is_better = True
    kind = Kind.PER_IMAGE
    modality = Modality.VIDEO

    def preprocessing(self) -> str:
        return "RGB uint8 frames as float32 0..255, every consecutive pair; no model"

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """One score per clip."""
        return [flicker_score(clip) for clip in require_clips(samples, self.name)]
