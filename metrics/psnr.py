"""PSNR of each image against the baseline image of the same prompt and seed (torchmetrics)."""

from __future__ import annotations

from collections.abc import Sequence

from metrics.base import BaseScorer, Kind, Sample, register, require_references, to_tensor


@register
class PSNR(BaseScorer):
    """Peak signal-to-noise ratio in dB; identical images give +inf."""

    name = "psnr"
    preload = ("torchmetrics.functional.image",)
    higher_is_better = True
    kind = Kind.PAIRED
    ideal = None  # identical images have infinite PSNR, so there is no finite ideal

    def preprocessing(self) -> str:
        return "RGB float [0,1], data_range=1, per image"

    def score(self, samples: Sequence[Sample]) -> list[float]:
        from torchmetrics.functional.image import peak_signal_noise_ratio

        refs = require_references(samples, self.name)
        x, y = to_tensor([s.image for s in samples]), to_tensor(refs)
        values = peak_signal_noise_ratio(
            x, y, data_range=1.0, reduction="none", dim=(1, 2, 3)
        )
        return values.tolist()
