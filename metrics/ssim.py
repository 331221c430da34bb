"""SSIM of each image against the baseline image of the same prompt and seed (torchmetrics)."""

from __future__ import annotations

from collections.abc import Sequence

from metrics.base import BaseScorer, Kind, Sample, register, require_references, to_tensor


@register
class SSIM(BaseScorer):
    """Structural similarity (Gaussian window 11, sigma 1.5); 1 means identical."""

    name = "ssim"
    preload = ("torchmetrics.functional.image",)
    higher_is_better = True
    kind = Kind.PAIRED
    ideal = 1.0

    def preprocessing(self) -> str:
        return "RGB float [0,1], data_range=1, gaussian kernel 11, sigma 1.5"

    def score(self, samples: Sequence[Sample]) -> list[float]:
        from torchmetrics.functional.image import structural_similarity_index_measure

        refs = require_references(samples, self.name)
        x, y = to_tensor([s.image for s in samples]), to_tensor(refs)
        values = structural_similarity_index_measure(x, y, data_range=1.0, reduction="none")
        return values.tolist()
