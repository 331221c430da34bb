"""FVD: the Fréchet distance between I3D features of two clip sets (Unterthiner et al., 2018).

Each clip is embedded by the Kinetics-400 I3D (``metrics._i3d``: pytorch-i3d's module names,
VideoGPT's converted checkpoint ``i3d_pretrained_400.pt``, whose 400 logits averaged over time
are the feature, as the TF-Hub FVD's logits): its first ``frames`` frames (16, FVD₁₆'s
consecutive frames as StyleGAN-V's ``fvd2048_16f`` loads them; all of a shorter clip), as uint8
RGB, /255, shorter side bilinearly resized to 224, centre-cropped to 224x224, scaled to
[-1, 1] (``metrics._i3d.preprocess``). The value is the Fréchet distance of the two feature
sets (``metrics._frechet``): ||mu_x - mu_y||² + tr(S_x + S_y - 2 (S_x S_y)^½).

**How many clips it needs.** Like FID, FVD estimated from n samples is biased upward, with
a bias that shrinks roughly as 1/n (Chong & Forsyth, "Effectively Unbiased FID and Inception
Score and where to find them", CVPR 2020), and with 400-d features its covariances are
singular below 401 clips. Values from sets of different sizes are not comparable, and small
sets read large distances between near-identical models. Published protocols use 256 clips
(VideoGPT's ``scripts/compute_fvd.py`` asserts 256) or 2048 (StyleGAN-V's ``fvd2048_16f``,
the common protocol since); Ge et al. ("On the Content Bias in Fréchet Video Distance",
CVPR 2024) also show it weighs per-frame content over motion. Below :data:`MIN_CLIPS` = 256
clips a set the scorer warns (:class:`FewClipsWarning`); the stored value's ``n`` says how many
clips it came from. Compare variants of one run (same prompts, seeds and n), never values
across runs of other sizes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from metrics._torch import check_batch_size
from metrics._video import check_frames_option, clip_digest, clip_uint8
from metrics._weights import TORCH_CACHE_ENV, loading
from metrics.base import BaseScorer, Clip, Kind, Modality, register
from registry import UserNotice

if TYPE_CHECKING:
    import numpy as np
    import torch

#: VideoGPT's ``i3d_pretrained_400.pt`` (``videogpt/download.py``: Google Drive id
#: 1mQK8KD8G6UWRa5t87SRMm5PVXtlpneJT), a state dict in pytorch-i3d's names.
I3D_URL = "https://drive.google.com/uc?export=download&id=1mQK8KD8G6UWRa5t87SRMm5PVXtlpneJT"
I3D_FILE = "i3d_pretrained_400.pt"
MIN_CLIPS = 256  # the smallest published FVD protocol (VideoGPT); StyleGAN-V's uses 2048
FRAMES = 16  # FVD₁₆


class FewClipsWarning(UserNotice):
    """An FVD from fewer clips than :data:`MIN_CLIPS`: biased upward, not comparable."""


@register
class FVD(BaseScorer):
    """Set-level Fréchet Video Distance of a variant's clips against the baseline's; lower is better.

    Args:
        device: Torch device.
        weights: Path of an I3D state dict in pytorch-i3d's names (``i3d_pretrained_400.pt``);
            default: VideoGPT's file through torch.hub's cache.
        frames: How many leading consecutive frames of each clip I3D reads (default 16, FVD₁₆;
            a shorter clip gives all of its frames; at least 9). None: every frame.
        width: Channel-width multiplier of the I3D (1.0, the published network; smaller only
            for tests on random weights).
        batch_size: Clips per I3D forward.
    """

    name = "fvd"
    preload = ("metrics._i3d",)
    higher_is_better = False
    kind = Kind.SET
    modality = Modality.VIDEO
    ideal = 0.0

    def __init__(self, device: str = "cpu", weights: str | None = None, frames: int | None = FRAMES,
                 width: float = 1.0, batch_size: int = 8) -> None:
        super().__init__(device)
        self.weights = weights
        from metrics._i3d import MIN_FRAMES  # constructing a scorer may load torch; importing not

        self.frames = check_frames_option(frames)
        if self.frames is not None and self.frames < MIN_FRAMES:
            raise ValueError(f"frames must be at least {MIN_FRAMES} (I3D's temporal strides), got {frames}")
        if isinstance(width, bool) or not isinstance(width, int | float) or not 0 < width <= 1:
            raise ValueError(f"width must be a number in (0, 1], got {width!r}")
        self.width = float(width)
        self.batch_size = check_batch_size(batch_size)
        self._model: Any = None
        self._cache: dict[str, np.ndarray] = {}  # clip digest -> features, across variants

    def identity(self) -> dict[str, Any]:
        model = "I3D Kinetics-400 (pytorch-i3d layout)"
        if self.width != 1:
            model += f", width x{self.width}"
        return {**super().identity(), "model": model, "revision": self.weights or I3D_URL,
                "dtype": "float32", "features": "400 logits, mean over time"}

    def preprocessing(self) -> str:
        which = "every frame" if self.frames is None else f"first {self.frames} frames (all if fewer)"
        return (f"{which}; RGB uint8 /255, shorter side bilinear to 224, centre crop 224x224, "
                "x2-1; Fréchet distance of I3D logits (float64)")

    def _load(self) -> torch.nn.Module:
        if self._model is None:
            import torch

            from metrics._i3d import InceptionI3d

            model = InceptionI3d(width=self.width)
            with loading(self.name, self.weights or I3D_URL, "weights", TORCH_CACHE_ENV):
                if self.weights is not None:
                    state = torch.load(self.weights, map_location="cpu", weights_only=True)
                else:
                    state = torch.hub.load_state_dict_from_url(I3D_URL, map_location="cpu", progress=False,
                                                               file_name=I3D_FILE)
            model.load_state_dict(state, strict=True)
            self._model = model.to(self.device).eval()
        return self._model

    def embed(self, clips: Sequence[Clip]) -> np.ndarray:
        """I3D features [n, 400] (float64) of ``clips``, each distinct clip embedded once."""
        import numpy as np
        import torch

        from metrics._i3d import preprocess

        keys = [clip_digest(c) for c in clips]
        todo: dict[tuple[int, ...], dict[str, Clip]] = {}  # one batch holds clips of one shape
        for k, c in zip(keys, clips, strict=True):
            if k not in self._cache:
                todo.setdefault((len(c[: self.frames]), *c[0].size), {})[k] = c
        model = self._load()
        for group in todo.values():
            items = list(group.items())
            for start in range(0, len(items), self.batch_size):
                batch = items[start : start + self.batch_size]
                x = torch.stack([preprocess(clip_uint8(c[: self.frames])) for _, c in batch])
                with torch.inference_mode():
                    feats = model(x.to(self.device)).double().cpu().numpy()
                self._cache.update((k, f) for (k, _), f in zip(batch, feats, strict=True))
        return np.stack([self._cache[k] for k in keys])

    def score_set(self, images: Sequence[Clip], references: Sequence[Clip]) -> float:  # type: ignore[override]
        """FVD of the clips ``images`` against the clips ``references`` (>= 2 each)."""
        from metrics._frechet import frechet_from_features
        from metrics._i3d import MIN_FRAMES

        short = min(len(c) for c in (*images, *references)) if images and references else 0
        if short and short < MIN_FRAMES:
            raise ValueError(f"fvd: I3D needs clips of at least {MIN_FRAMES} frames, got one of {short}")
        if len(images) < 2 or len(references) < 2:
            raise ValueError(f"fvd needs at least 2 clips in each set, got {len(images)} "
                             f"and {len(references)}")
        n = min(len(images), len(references))
        if n < MIN_CLIPS:
            warnings.warn(f"fvd from {n} clips: FVD is biased upward below {MIN_CLIPS} clips (2048 in "
                          "StyleGAN-V's protocol); compare only values of equal n", FewClipsWarning,
                          stacklevel=2)
        return frechet_from_features(self.embed(references), self.embed(images))
