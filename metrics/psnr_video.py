"""PSNR of a clip against the baseline clip of the same prompt and seed, frame by frame.

Each frame pair goes through ``metrics.psnr`` (capped at 100 dB, so identical frames stay
finite); ``psnr_video`` is the mean over frames and ``psnr_video_worst`` the lowest frame,
since cache damage concentrates in some frames (issue 20 §3). The two are one formula with
two reductions, so they share this file.
"""

from __future__ import annotations

from metrics._video import PerFrame
from metrics.base import register
from metrics.psnr import PSNR


@register
class PSNRVideo(PerFrame):
    """PSNR in dB against the baseline clip, mean over frames (each capped at 100 dB)."""

    name = "psnr_video"
    frame_scorer = PSNR


@register
class PSNRVideoWorst(PerFrame):
    """PSNR in dB against the baseline clip, of the worst (lowest) frame."""

    name = "psnr_video_worst"
    frame_scorer = PSNR
    reduce = "worst"
