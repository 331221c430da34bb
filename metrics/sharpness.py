"""Laplacian-variance sharpness: a weight-free proxy for blur (higher = sharper)."""

from __future__ import annotations

from collections.abc import Sequence

from metrics.base import BaseScorer, Kind, Sample, register, to_tensor

# 4-neighbour Laplacian, the kernel OpenCV's cv2.Laplacian uses with ksize=1.
_LAPLACIAN = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))


@register
class Sharpness(BaseScorer):
    """Variance of the Laplacian of the grey image, on the 0-255 scale."""

    name = "sharpness"
    higher_is_better = True
    kind = Kind.PER_IMAGE

    def preprocessing(self) -> str:
        return "RGB -> grey (ITU-R 601 luma), 0-255, 3x3 Laplacian, valid padding"

    def score(self, samples: Sequence[Sample]) -> list[float]:
        import torch
        import torch.nn.functional as F

        x = to_tensor([s.image for s in samples]) * 255.0
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        grey = (x * weights).sum(dim=1, keepdim=True)
        lap = F.conv2d(grey, torch.tensor(_LAPLACIAN).view(1, 1, 3, 3))
        return lap.flatten(1).var(dim=1, unbiased=False).tolist()
