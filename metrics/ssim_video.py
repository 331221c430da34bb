"""SSIM of a clip against the baseline clip of the same prompt and seed, frame by frame.

Each frame pair goes through ``metrics.ssim``; ``ssim_video`` is the mean over frames and
``ssim_video_worst`` the lowest frame (cache damage concentrates in some frames).
"""

from __future__ import annotations

from metrics._video import PerFrame
from metrics.base import register
from metrics.ssim import SSIM


@register
class SSIMVideo(PerFrame):
    """SSIM against the baseline clip, mean over frames; 1 means identical."""

    name = "ssim_video"
    frame_scorer = SSIM


@register
class SSIMVideoWorst(PerFrame):
    """SSIM against the baseline clip, of the worst (lowest) frame."""

    name = "ssim_video_worst"
    frame_scorer = SSIM
    reduce = "worst"
