"""PSNR of each image against the baseline image of the same prompt and seed (torchmetrics).

Identical images have MSE 0 and so an infinite PSNR, which made means, bootstrap CIs and
deltas against the baseline +-inf (a budget of ``psnr min = 200`` "passed"). PSNR is capped
at ``PSNR_CAP_DB`` = 100 dB instead, x264's convention for MSE <= 1e-10: a fixed number, so a
budget means the same at every resolution and the baseline's own value (``perfect``) is one
constant the reports can pair against. Below the cap no value changes. Above it lie only
differences of an RMS 0.0026 of one 8-bit level: at 256x256 and up, images that differ by
one level in a few channel values read as identical (docs/METRICS.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from metrics.base import BaseScorer, Kind, Sample, register, require_references, to_tensor

PSNR_CAP_DB = 100.0  # the value of identical images; every value is clamped to it


@register
class PSNR(BaseScorer):
    """Peak signal-to-noise ratio in dB, capped at 100 dB (identical images)."""

    name = "psnr"
    preload = ("torchmetrics.functional.image",)
    higher_is_better = True
    kind = Kind.PAIRED
    ideal = None  # reports show PSNR's value, not its distance from the cap
    perfect = PSNR_CAP_DB  # what the baseline scores against itself

    def preprocessing(self) -> str:
        return f"RGB float [0,1], data_range=1, per image, capped at {PSNR_CAP_DB:g} dB"

    def score(self, samples: Sequence[Sample]) -> list[float]:
        from torchmetrics.functional.image import peak_signal_noise_ratio

        refs = require_references(samples, self.name)
        x, y = to_tensor([s.image for s in samples]), to_tensor(refs)
        values = peak_signal_noise_ratio(
            x, y, data_range=1.0, reduction="none", dim=(1, 2, 3)
        )
        return values.clamp(max=PSNR_CAP_DB).tolist()  # +inf (MSE 0) -> the cap
