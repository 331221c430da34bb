"""CLIP-Score: prompt-image agreement, 100 x cosine of CLIP embeddings (torchmetrics).

The computation is torchmetrics' own (``_clip_score_update``: its processor call, feature
extraction, L2 normalisation and scaling). We call that update function rather than the
``clip_score`` functional because the functional averages over the batch and we need one
value per image. The model comes through torchmetrics' documented callable hook, wrapped so
it works on transformers 5 and from local folders (see ``metrics/_clip.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metrics._clip import ClipProcessorScorer, describe_image_processor, load_clip
from metrics._torch import check_batch_size, resolve_dtype, uint8_chw
from metrics._weights import loading
from metrics.base import BaseScorer, Kind, Sample, register


@register
class CLIPScore(ClipProcessorScorer, BaseScorer):
    """max(100 * cos(image embedding, prompt embedding), 0), per image; higher is better.

    Args:
        device: Torch device to run on ("cpu", "cuda", "cuda:1", ...).
        model: Hub id or local folder of a Hugging Face ``CLIPModel`` + ``CLIPProcessor``.
        revision: Hub revision (branch, tag or commit); ignored for local folders.
        dtype: "auto" (float16 on CUDA, else float32), "float32", "float16" or "bfloat16".
        batch_size: Images per forward pass.
    """

    name = "clip_score"
    preload = ("torchmetrics.functional.multimodal.clip_score", "metrics._clip_model",
               "transformers.models.clip.modeling_clip")
    higher_is_better = True
    kind = Kind.PER_IMAGE
    ideal = None  # bounded by 100 in theory, but no image reaches it

    def __init__(
        self,
        device: str = "cpu",
        model: str = "openai/clip-vit-large-patch14",
        revision: str | None = None,
        dtype: str = "auto",
        batch_size: int = 16,
    ) -> None:
        super().__init__(device)
        self.model_name = model
        self.revision = revision
        self.dtype = resolve_dtype(device, dtype)
        self.batch_size = check_batch_size(batch_size)
        self._clip: tuple[Any, Any] | None = None
        self._processor: Any = None

    def describe_processor(self) -> str:
        return (
            describe_image_processor(self.processor().image_processor)
            + "; prompt: CLIP tokenizer truncated to the text tower's length"
        )

    def _load(self) -> tuple[Any, Any]:
        # Once per scoring phase: the scorer object lives for the whole phase.
        if self._clip is None:
            with loading(self.name, self.model_name):
                self._clip = load_clip(self.model_name, self.revision, self.device, self.dtype)
        return self._clip

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """One CLIP-Score per sample, against the sample's prompt."""
        if not samples:
            return []
        import torch
        from torchmetrics.functional.multimodal.clip_score import _clip_score_update

        model, processor = self._load()
        values: list[float] = []
        for start in range(0, len(samples), self.batch_size):
            chunk = samples[start : start + self.batch_size]
            # uint8 tensors: the processor rescales by 1/255 itself. They sit on the scoring
            # device because torchmetrics moves the model to the images' device.
            images = [uint8_chw(s.image).to(self.device) for s in chunk]
            with torch.inference_mode():
                scores, _ = _clip_score_update(images, [s.prompt for s in chunk], model, processor)
            # The defining formula clamps each cosine at 0 (torchmetrics clamps the batch mean).
            values += scores.reshape(-1).clamp(min=0).float().cpu().tolist()
        return values
