"""Quality scorers. Every scorer module is imported here, the one place they register."""

from metrics import (  # noqa: F401  (imports register the scorers)
    arniqa,
    background_consistency,
    clip_iqa,
    clip_score,
    clip_score_video,
    cmmd,
    dynamic_degree,
    fvd,
    geneval,
    hpsv2,
    image_reward,
    lpips,
    lpips_video,
    motion_smoothness,
    pickscore,
    psnr,
    psnr_video,
    sharpness,
    ssim,
    ssim_video,
    subject_consistency,
    temporal_flickering,
    vqascore,
    vqascore_video,
)
from metrics.base import SCORERS, BaseScorer, Clip, Kind, Modality, Sample, Scorer, preload_imports

__all__ = ["SCORERS", "BaseScorer", "Clip", "Kind", "Modality", "Sample", "Scorer", "preload_imports"]
