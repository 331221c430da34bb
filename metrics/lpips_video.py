"""LPIPS of a clip against the baseline clip of the same prompt and seed, frame by frame.

Each frame pair goes through ``metrics.lpips`` (same options: ``net``, ``backbone_weights``,
``batch_size`` in frame pairs); ``lpips_video`` is the mean over frames and
``lpips_video_worst`` the worst (highest) frame.
"""

from __future__ import annotations

from metrics._video import PerFrame
from metrics.base import register
from metrics.lpips import LPIPS


@register
class LPIPSVideo(PerFrame):
    """LPIPS distance to the baseline clip, mean over frames; 0 means identical."""

    name = "lpips_video"
    frame_scorer = LPIPS


@register
class LPIPSVideoWorst(PerFrame):
    """LPIPS distance to the baseline clip, of the worst (highest) frame."""

    name = "lpips_video_worst"
    frame_scorer = LPIPS
    reduce = "worst"
