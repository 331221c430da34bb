"""Quality scorers. Every scorer module is imported here, the one place they register."""

from metrics import hpsv2, image_reward, psnr, sharpness, ssim, vqascore  # noqa: F401  (imports register the scorers)
from metrics.base import SCORERS, BaseScorer, Kind, Sample, Scorer

__all__ = ["SCORERS", "BaseScorer", "Kind", "Sample", "Scorer"]
