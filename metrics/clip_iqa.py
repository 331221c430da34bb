"""CLIP-IQA: no-reference quality as P("Good photo." | image) against "Bad photo." (torchmetrics).

The computation is torchmetrics' public ``clip_image_quality_assessment`` (anchor prompts,
L2-normalised features, softmax over 100 x cosine, positive-prompt probability), given our
model through its documented callable hook (see ``metrics/_clip.py`` for why).

torchmetrics divides images by ``data_range`` and then hands the [0, 1] floats to the
Hugging Face processor, which rescales by 1/255 a second time: every image would arrive
almost black. We turn the processor's rescale off, so it sees [0, 1] exactly once.

Default model: torchmetrics' own default, "clip_iqa" (the paper's ResNet-50 CLIP), needs the
``piq`` package and a GitHub download, and bypasses the callable hook; we default to OpenAI's
ViT-B/16 instead, the smallest CLIP torchmetrics lists for this metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from metrics._clip import ClipProcessorScorer, describe_image_processor, load_clip
from metrics._torch import check_batch_size, resolve_dtype, same_size_batches
from metrics._weights import loading
from metrics.base import BaseScorer, Kind, Sample, register, to_tensor


def _prompt_tuple(prompt: str | Sequence[str]) -> tuple[str | tuple[str, str], ...]:
    # TOML gives a [positive, negative] pair as a list; torchmetrics wants a tuple.
    if isinstance(prompt, str):
        return (prompt,)
    pair = tuple(prompt)
    if len(pair) != 2 or not all(isinstance(p, str) for p in pair):
        raise ValueError(f"prompt must be a built-in name or a [positive, negative] pair, got {prompt!r}")
    return ((pair[0], pair[1]),)


@register
class CLIPIQA(ClipProcessorScorer, BaseScorer):
    """Probability in [0, 1] that the image matches the positive prompt; higher is better.

    Args:
        device: Torch device to run on.
        model: Hub id or local folder of a Hugging Face ``CLIPModel`` + ``CLIPProcessor``.
        revision: Hub revision; ignored for local folders.
        prompt: A torchmetrics built-in prompt name ("quality", "sharpness", "noisiness", ...)
            or a [positive, negative] pair of sentences.
        dtype: "auto" (float16 on CUDA, else float32), "float32", "float16" or "bfloat16".
        batch_size: Images per forward pass.
    """

    name = "clip_iqa"
    preload = ("torchmetrics.functional.multimodal", "metrics._clip_model",
               "transformers.models.clip.modeling_clip")
    higher_is_better = True
    kind = Kind.PER_IMAGE
    ideal = None

    def __init__(
        self,
        device: str = "cpu",
        model: str = "openai/clip-vit-base-patch16",
        revision: str | None = None,
        prompt: str | Sequence[str] = "quality",
        dtype: str = "auto",
        batch_size: int = 16,
    ) -> None:
        from torchmetrics.functional.multimodal.clip_iqa import _clip_iqa_format_prompts

        super().__init__(device)
        self.model_name = model
        self.revision = revision
        self.prompts = _prompt_tuple(prompt)
        # Validates built-in names now, so a typo fails when the suite is loaded.
        self.prompt_texts, _ = _clip_iqa_format_prompts(self.prompts)
        self.dtype = resolve_dtype(device, dtype)
        self.batch_size = check_batch_size(batch_size)
        self._clip: tuple[Any, Any] | None = None
        self._processor: Any = None

    def identity_extra(self) -> dict[str, Any]:
        return {"prompts": list(self.prompt_texts)}

    def describe_processor(self) -> str:
        ip = self.processor().image_processor
        described = describe_image_processor(ip).replace(f", rescale x{ip.rescale_factor:.6g}", "")
        return "RGB float [0,1] -> " + described.removeprefix("RGB -> ")

    def _load(self) -> tuple[Any, Any]:
        if self._clip is None:
            with loading(self.name, self.model_name):
                model, processor = load_clip(self.model_name, self.revision, self.device, self.dtype)
            processor.image_processor.do_rescale = False  # see the module docstring
            self._clip = (model, processor)
        return self._clip

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """One CLIP-IQA probability per sample (the prompt of the sample is not used)."""
        if not samples:
            return []
        import torch
        from torchmetrics.functional.multimodal import clip_image_quality_assessment

        clip = self._load()
        images = [s.image for s in samples]
        values = [math.nan] * len(samples)  # every index is filled below
        for idx in same_size_batches(images, self.batch_size):
            x = to_tensor([images[i] for i in idx]).to(self.device)
            with torch.inference_mode():
                probs = clip_image_quality_assessment(
                    x, model_name_or_path=lambda: clip, data_range=1.0, prompts=self.prompts
                )
            for i, v in zip(idx, probs.reshape(-1).float().cpu().tolist(), strict=True):
                values[i] = v
        return values
