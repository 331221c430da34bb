"""PickScore v1 (Kirstain et al., 2023): preference of an image for its prompt, from Pick-a-Pic.

PickScore v1 is a CLIP ViT-H/14 fine-tuned on Pick-a-Pic, published as a transformers
``CLIPModel`` (``yuvalkirstain/PickScore_v1``) without its own processor: its model card
preprocesses with the LAION CLIP-H processor (``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``).
The score is the card's: ``exp(logit_scale) x cosine(image embedding, prompt embedding)``
(about 18-23 for FLUX-quality images; a softmax over several images of one prompt turns
scores into preference probabilities). Float32 by default, as the reference code runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from metrics._clip import describe_image_processor, describe_safely, model_identity
from metrics._torch import check_batch_size, dtype_name, resolve_dtype
from metrics._weights import loading
from metrics.base import BaseScorer, Kind, Sample, register

if TYPE_CHECKING:  # torch loads with the model (see metrics/base.py)
    import torch

MODEL = "yuvalkirstain/PickScore_v1"
PROCESSOR = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
MAX_TOKENS = 77  # the card truncates prompts to CLIP's context


def _unit(out: Any) -> torch.Tensor:
    import torch

    emb = (out if isinstance(out, torch.Tensor) else out.pooler_output).float()
    return emb / emb.norm(dim=-1, keepdim=True)


@register
class PickScore(BaseScorer):
    """PickScore v1 of an image for its prompt (logit scale x cosine); higher is preferred.

    Args:
        device: Torch device ("cpu", "cuda", "cuda:1").
        model: Hub id or local folder of the PickScore ``CLIPModel``.
        revision: Hub revision of ``model``.
        processor: Hub id or local folder of the CLIP processor (tokenizer + image processor).
        processor_revision: Hub revision of ``processor``.
        dtype: "float32" (default, the reference's), "float16", "bfloat16", or "auto" (float32).
        batch_size: Images per forward pass.
    """

    name: ClassVar[str] = "pickscore"
    preload: ClassVar[tuple[str, ...]] = ("transformers.models.clip.modeling_clip",)
    higher_is_better: ClassVar[bool] = True
    kind: ClassVar[Kind] = Kind.PER_IMAGE
    ideal: ClassVar[float | None] = None

    def __init__(self, device: str = "cpu", model: str = MODEL, revision: str | None = None,
                 processor: str = PROCESSOR, processor_revision: str | None = None,
                 dtype: str = "float32", batch_size: int = 16) -> None:
        super().__init__(device)
        self.model_name, self.revision = model, revision
        self.processor_name, self.processor_revision = processor, processor_revision
        self.dtype = resolve_dtype(device, dtype, half_ok=False)
        self.batch_size = check_batch_size(batch_size)
        self._model: Any = None
        self._processor: Any = None

    def processor(self) -> Any:
        """The CLIP processor (small files only: the identity needs it before any scoring)."""
        if self._processor is None:
            from transformers import CLIPProcessor

            with loading(self.name, self.processor_name, "processor"):
                self._processor = CLIPProcessor.from_pretrained(
                    self.processor_name, revision=self.processor_revision)
        return self._processor

    def load(self) -> tuple[Any, Any]:
        """Model and processor, loaded once."""
        if self._model is None:
            from transformers import CLIPModel

            with loading(self.name, self.model_name, "model"):
                model = CLIPModel.from_pretrained(self.model_name, revision=self.revision, dtype=self.dtype)
            self._model = model.eval().to(self.device)
        return self._model, self.processor()

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, **model_identity(self.model_name, self.revision),
                "processor": model_identity(self.processor_name, self.processor_revision),
                "dtype": dtype_name(self.dtype), "preprocessing": self.preprocessing()}

    def preprocessing(self) -> str:
        return describe_safely(lambda: describe_image_processor(self.processor().image_processor)
                               + f"; prompt: CLIP tokenizer, truncated to {MAX_TOKENS} tokens")

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """One PickScore per sample, against the sample's prompt."""
        import torch

        if not samples:
            return []
        model, processor = self.load()
        values: list[float] = []
        for start in range(0, len(samples), self.batch_size):
            chunk = samples[start : start + self.batch_size]
            pixels = processor(images=[s.image.convert("RGB") for s in chunk],
                               return_tensors="pt")["pixel_values"]
            tokens = processor(text=[s.prompt for s in chunk], padding=True, truncation=True,
                               max_length=MAX_TOKENS, return_tensors="pt")
            with torch.inference_mode():
                image = _unit(model.get_image_features(pixel_values=pixels.to(self.device, self.dtype)))
                text = _unit(model.get_text_features(input_ids=tokens["input_ids"].to(self.device),
                                                     attention_mask=tokens["attention_mask"].to(self.device)))
                scale = model.logit_scale.float().exp()
                values += (scale * (image * text).sum(-1)).cpu().tolist()
        return values
