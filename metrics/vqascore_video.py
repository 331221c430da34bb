"""VQAScore on video: the probability that a video VLM answers "Yes" when asked whether the
clip shows the prompt.

t2v-metrics scores a video the same way as an image, with the clip given to the VLM as a
video input (its Qwen2.5-VL models: ``{"type": "video"}`` content, frames sampled at 8 fps,
``max_pixels`` 360x420, the image question 'Does this figure show "{}"?', P("Yes") from the
answer's logits). Ours is the native ``metrics.vqascore`` (same model loading, question,
teacher-forced answer and full-vocabulary softmax) with the clip's frames passed to the
processor's ``videos`` argument.

Which frames: a stored clip carries no timestamps, so frames are sampled by count, not by
fps: ``frames`` evenly spaced frames, first and last included (default 16; None = every
frame). Qwen2.5-VL merges frames in pairs (temporal patch 2), padding an odd count with the
last frame. A 5-second clip at 16 fps sampled at t2v-metrics' 8 fps would be 40 frames; 16
keeps the VLM's cost near 8 images per clip, and ``frames = 40`` matches t2v-metrics there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from metrics._video import check_frames_option, uniform_indices
from metrics.base import Modality, Sample, register, require_clips
from metrics.vqascore import ANSWER, DEFAULT_MODEL, QUESTION, VQAScore

DEFAULT_FRAMES = 16


@register
class VQAScoreVideo(VQAScore):
    """P(answer | clip, question) from a video VLM, in [0, 1]; higher is better.

    Args: those of ``vqascore`` (``model``, ``revision``, ``dtype``, ``batch_size`` in clips,
    ``question``, ``answer``), plus ``frames``: how many evenly spaced frames the VLM sees
    (default 16; None = every frame).
    """

    name: ClassVar[str] = "vqascore_video"
    modality: ClassVar[Modality] = Modality.VIDEO
    media: ClassVar[str] = "video"

    def __init__(self, *, device: str = "cpu", model: str = DEFAULT_MODEL, revision: str | None = None,
                 dtype: str = "auto", batch_size: int = 2, question: str = QUESTION,
                 answer: str = ANSWER, frames: int | None = DEFAULT_FRAMES) -> None:
        super().__init__(device=device, model=model, revision=revision, dtype=dtype,
                         batch_size=batch_size, question=question, answer=answer)
        self.frames = check_frames_option(frames)

    def preprocessing(self) -> str:
        which = "every frame" if self.frames is None else f"{self.frames} evenly spaced frames"
        settings = "processor not loaded"
        if self._processor is not None:
            vp = self._processor.video_processor
            found = {k: getattr(vp, k) for k in ("size", "min_pixels", "max_pixels", "temporal_patch_size",
                                                 "patch_size", "merge_size", "image_mean", "image_std")
                     if getattr(vp, k, None) is not None}
            settings = f"{type(vp).__name__} {found}"
        return (f"{which} (first and last included) as one video input; {settings}; chat template "
                f"with question {self.question!r}; score = P({self.answer!r}) over the full "
                f"vocabulary; dtype {self.dtype}")

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "frames": self.frames}

    def _visual(self, batch: Sequence[Sample]) -> dict[str, Any]:
        clips = require_clips(batch, self.name)
        videos = [[c[i].convert("RGB") for i in uniform_indices(len(c), self.frames)] for c in clips]
        # The frames are already chosen: the processor must not resample them by fps.
        return {"videos": videos, "do_sample_frames": False}
