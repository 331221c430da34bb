"""CLIP-Score of a clip: the prompt-image CLIP-Score of each frame, averaged over frames.

Every frame (or ``frames`` evenly spaced frames) goes through ``metrics.clip_score`` with the
clip's prompt (same model, processor and clamp at 0); the clip's value is their mean.
"""

from __future__ import annotations

from metrics._video import PerFrame
from metrics.base import register
from metrics.clip_score import CLIPScore


@register
class CLIPScoreVideo(PerFrame):
    """CLIP-Score (0-100) of each frame against the prompt, mean over frames; higher is better."""

    name = "clip_score_video"
    frame_scorer = CLIPScore
