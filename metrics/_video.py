"""Helpers shared by the video scorers: frame sampling, clip tensors, VBench's consistency
formula and the paired per-frame wrapper around an image scorer.

Light at import (metrics/base.py): numpy and torch load inside the functions.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from metrics.base import BaseScorer, Clip, Kind, Modality, Sample, require_clips

if TYPE_CHECKING:
    import torch
    from PIL import Image


def uniform_indices(n: int, k: int | None) -> list[int]:
    """``k`` frame indices spread evenly over ``n`` frames, first and last included.

    ``None`` (or ``k >= n``) means every frame. One frame means the middle one (the poster).
    """
    if n < 1:
        raise ValueError("a clip needs at least one frame")
    if k is None or k >= n:
        return list(range(n))
    if k < 1:
        raise ValueError(f"frames must be a positive number of frames, got {k}")
    if k == 1:
        return [n // 2]
    return [round(i * (n - 1) / (k - 1)) for i in range(k)]


def check_frames_option(frames: int | None) -> int | None:
    """Validate a scorer's ``frames`` option (None = every frame, else a positive int)."""
    if frames is not None and (isinstance(frames, bool) or not isinstance(frames, int) or frames < 1):
        raise ValueError(f"frames must be a positive integer (or absent for every frame), got {frames!r}")
    return frames


def clip_uint8(frames: Sequence[Image.Image]) -> torch.Tensor:
    """A clip as a uint8 tensor [T, 3, H, W] (RGB), the layout VBench's loaders give."""
    import numpy as np
    import torch

    arrays = np.stack([np.asarray(f.convert("RGB"), dtype=np.uint8) for f in frames])
    return torch.from_numpy(arrays).permute(0, 3, 1, 2).contiguous()


def consistency(features: torch.Tensor) -> float:
    """VBench's consistency of a clip from per-frame features [T, D].

    For every frame after the first: the mean of its cosine similarity to the previous frame
    and to the first frame, each clamped at 0; averaged over those T - 1 frames
    (vbench/subject_consistency.py and background_consistency.py at 45e79ec: ``sim_pre``,
    ``sim_fir``, ``cur_sim = (sim_pre + sim_fir) / 2``, ``video_sim / (len(images) - 1)``).
    """
    import torch.nn.functional as F

    if features.shape[0] < 2:
        raise ValueError("consistency needs a clip of at least two frames")
    f = F.normalize(features.double(), dim=-1, p=2)
    previous = F.cosine_similarity(f[:-1], f[1:], dim=-1).clamp(min=0.0)
    first = F.cosine_similarity(f[:1].expand_as(f[1:]), f[1:], dim=-1).clamp(min=0.0)
    return float(((previous + first) / 2).mean())


class PerFrame(BaseScorer):
    """A video scorer that scores every (or every sampled) frame with an image scorer and
    reduces the frame values of each clip to one: their mean, or the worst frame.

    Subclasses set ``frame_scorer`` (the image scorer's class, whose options they take) and
    ``reduce``; ``kind``, ``ideal``, ``perfect`` and ``higher_is_better`` follow the image
    scorer's. One home for each formula: the frames go through the image scorer itself.
    """

    modality = Modality.VIDEO
    frame_scorer: ClassVar[type[BaseScorer]]
    reduce: ClassVar[str] = "mean"  # or "worst": the lowest frame value (highest if lower is better)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        image = cls.__dict__.get("frame_scorer")
        if image is not None:
            cls.kind, cls.higher_is_better = image.kind, image.higher_is_better
            cls.ideal, cls.perfect, cls.preload = image.ideal, image.perfect, image.preload
            # The options a suite may give: ``frames`` plus the image scorer's own, so that
            # validating a suite (inspect.signature(...).bind) refuses an unknown one.
            own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
                   for p in list(inspect.signature(image).parameters.values()) if p.name != "device"]
            cls.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
                inspect.Parameter("device", inspect.Parameter.POSITIONAL_OR_KEYWORD, default="cpu"),
                inspect.Parameter("frames", inspect.Parameter.KEYWORD_ONLY, default=None), *own])

    def __init__(self, device: str = "cpu", frames: int | None = None, **options: Any) -> None:
        super().__init__(device)
        self.frames = check_frames_option(frames)
        self.image = self.frame_scorer(device=device, **options)
        self.batch_size = self.image.batch_size

    def identity(self) -> dict[str, Any]:
        return {**self.image.identity(), "name": self.name, "preprocessing": self.preprocessing()}

    def _which(self) -> str:
        which = "every frame" if self.frames is None else f"{self.frames} frames evenly spaced"
        how = "mean over frames" if self.reduce == "mean" else "worst frame"
        return f"{which}, {how}"

    def preprocessing(self) -> str:
        return f"per frame as {self.frame_scorer.name}: {self.image.preprocessing()}; {self._which()}"

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """One value per clip: the reduction of its frames' values."""
        paired = self.kind == Kind.PAIRED
        clips = require_clips(samples, self.name, paired=paired)
        flat: list[Sample] = []
        owners: list[int] = []
        for i, (s, clip) in enumerate(zip(samples, clips, strict=True)):
            for j in uniform_indices(len(clip), self.frames):
                ref = s.reference_frames[j] if paired else None
                flat.append(Sample(clip[j], s.prompt, ref, s.category, s.meta))
                owners.append(i)
        values = self.image.score(flat)
        per_clip: list[list[float]] = [[] for _ in samples]
        for owner, v in zip(owners, values, strict=True):
            per_clip[owner].append(v)
        return [self._reduce(vs) for vs in per_clip]

    def _reduce(self, values: list[float]) -> float:
        if self.reduce == "mean":
            return sum(values) / len(values)
        return min(values) if self.higher_is_better else max(values)


def clip_digest(clip: Clip) -> str:
    """A content hash of a clip (its frames' sizes and bytes), to embed a clip once."""
    import hashlib

    h = hashlib.sha1()
    for f in clip:
        rgb = f.convert("RGB")
        h.update(f"{rgb.size}".encode())
        h.update(rgb.tobytes())
    return h.hexdigest()
