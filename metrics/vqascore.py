"""VQAScore (Lin et al., 2024): the probability that a VLM answers "Yes" when asked whether the
image shows the prompt.

Native on transformers' ``AutoModelForImageTextToText``; no t2v-metrics (its pins of torch 2.5,
transformers 4.49 and numpy 1.26 cannot live beside diffusers 0.42).

Default model: ``Qwen/Qwen2.5-VL-7B-Instruct``. The paper's best model, CLIP-FlanT5-XXL, is a custom
architecture that transformers cannot load without remote code. Qwen2.5-VL-7B is a strong open
VLM that transformers supports natively, Apache-2.0, ~16.6 GB of bfloat16 weights: one 24 GB GPU
runs it. Any chat VLM that AutoModelForImageTextToText loads works through ``model=``
(e.g. ``Qwen/Qwen2.5-VL-3B-Instruct`` for smaller GPUs, ``Qwen/Qwen2.5-VL-32B-Instruct`` for
accuracy). Scores are comparable only between runs with the same model and revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from metrics._torch import DTYPE_NAMES
from metrics._weights import loading
from metrics.base import BaseScorer, Kind, Sample, register

if TYPE_CHECKING:  # torch and transformers load with the model (metrics/base.py)
    import torch

DEFAULT_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
QUESTION = 'Does this figure show "{}"? Please answer yes or no.'  # the paper's template
ANSWER = "Yes"
# Image-processor settings that change what the model sees; recorded with every score.
_PROCESSOR_KEYS = ("size", "min_pixels", "max_pixels", "crop_size", "patch_size", "merge_size",
                   "resample", "do_resize", "do_center_crop", "image_mean", "image_std")  # fmt: skip


@register
class VQAScore(BaseScorer):
    """P(answer | image, question) from a vision-language model, in [0, 1].

    Args:
        device: Torch device ("cpu", "cuda", "cuda:1").
        model: Hub id or local folder of a chat VLM loadable by AutoModelForImageTextToText.
        revision: Hub revision (branch, tag or commit) of ``model``.
        dtype: "auto" (bfloat16 on CUDA, float32 elsewhere), "float32", "float16" or "bfloat16".
        batch_size: Images per forward pass.
        question: Question template; ``{}`` receives the prompt.
        answer: The answer whose probability is the score. Multi-token answers get the product
            of their token probabilities (teacher forcing), as t2v-metrics computes it.
    """

    name: ClassVar[str] = "vqascore"
    preload: ClassVar[tuple[str, ...]] = ("transformers",)
    higher_is_better: ClassVar[bool] = True
    kind: ClassVar[Kind] = Kind.PER_IMAGE
    ideal: ClassVar[float | None] = None
    media: ClassVar[str] = "image"  # the chat content type of the visual input ("video": clips)

    def __init__(
        self,
        *,
        device: str = "cpu",
        model: str = DEFAULT_MODEL,
        revision: str | None = None,
        dtype: str = "auto",
        batch_size: int = 8,
        question: str = QUESTION,
        answer: str = ANSWER,
    ) -> None:
        super().__init__(device=device)
        if dtype != "auto" and dtype not in DTYPE_NAMES:
            raise ValueError(f"dtype must be 'auto' or one of {sorted(DTYPE_NAMES)}, got {dtype!r}")
        if "{}" not in question:
            raise ValueError("question must contain '{}' where the prompt goes")
        self.model_id, self.revision, self.batch_size = model, revision, batch_size
        self.question, self.answer = question, answer
        self.dtype = dtype if dtype != "auto" else ("bfloat16" if "cuda" in device else "float32")
        self._model: Any = None
        self._processor: Any = None
        self._answer_ids: torch.Tensor | None = None

    def load(self) -> None:
        """Load the processor and model once; later calls do nothing."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        with loading(self.name, self.model_id):
            processor = AutoProcessor.from_pretrained(self.model_id, revision=self.revision)
        if getattr(processor, "chat_template", None) is None:
            raise ValueError(f"{self.model_id}: the processor has no chat template; use a chat VLM")
        # Left padding keeps every sequence's last token at the end, where the answer goes.
        processor.tokenizer.padding_side = "left"
        ids = processor.tokenizer(self.answer, add_special_tokens=False).input_ids
        if not ids:
            raise ValueError(f"answer {self.answer!r} tokenises to nothing")
        with loading(self.name, self.model_id):
            model = AutoModelForImageTextToText.from_pretrained(
                self.model_id, revision=self.revision, dtype=getattr(torch, self.dtype)
            )
        self._model = model.to(self.device).eval()
        self._processor, self._answer_ids = processor, torch.tensor(ids)

    def preprocessing(self) -> str:
        settings = "processor not loaded"
        if self._processor is not None:
            ip = self._processor.image_processor
            found = {k: getattr(ip, k) for k in _PROCESSOR_KEYS if getattr(ip, k, None) is not None}
            settings = f"{type(ip).__name__} {found}"
        return (
            f"RGB; {settings}; chat template with question {self.question!r}; "
            f"score = P({self.answer!r}) over the full vocabulary; dtype {self.dtype}"
        )

    def identity(self) -> dict[str, Any]:
        resolved = getattr(getattr(self._model, "config", None), "_commit_hash", None)
        return {
            **super().identity(),
            "model": self.model_id,
            "revision": resolved or self.revision,
            "dtype": self.dtype,
            "question": self.question,
            "answer": self.answer,
        }

    def _chat(self, prompt: str) -> str:
        """The question for ``prompt`` in the model's chat format, ready for the answer."""
        content = [{"type": self.media}, {"type": "text", "text": self.question.format(prompt)}]
        return self._processor.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
        )

    def _visual(self, batch: Sequence[Sample]) -> dict[str, Any]:
        """The processor's visual arguments for a batch: one RGB image per sample."""
        return {"images": [s.image.convert("RGB") for s in batch]}

    def _inputs(self, batch: Sequence[Sample]) -> dict[str, torch.Tensor]:
        """Processor inputs for the questions, with the answer tokens appended to each row."""
        import torch

        texts = [self._chat(s.prompt) for s in batch]
        inputs = dict(self._processor(text=texts, padding=True, return_tensors="pt", **self._visual(batch)))
        # Appending token ids (rather than the answer text) avoids a BPE merge across the boundary.
        shape = inputs["input_ids"].shape
        answer = self._answer_ids.expand(shape[0], -1)
        tails = {"input_ids": answer, "attention_mask": torch.ones_like(answer)}
        for key, value in inputs.items():
            if isinstance(value, torch.Tensor) and value.shape == shape:
                # Other per-token tensors (mm_token_type_ids, token_type_ids): 0 means text.
                tail = tails.get(key, torch.zeros_like(answer)).to(value.dtype)
                inputs[key] = torch.cat([value, tail], dim=1)
        dtype = getattr(torch, self.dtype)
        return {
            k: v.to(self.device, dtype) if v.is_floating_point() else v.to(self.device)
            for k, v in inputs.items()
        }

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """P(answer) per sample."""
        import torch

        with torch.inference_mode():
            return self._score(samples)

    def _score(self, samples: Sequence[Sample]) -> list[float]:
        self.load()
        assert self._answer_ids is not None
        k = len(self._answer_ids)
        answer = self._answer_ids.to(self.device)
        values: list[float] = []
        for start in range(0, len(samples), self.batch_size):
            batch = samples[start : start + self.batch_size]
            # Only the k positions that predict the answer tokens need logits (saves vocab x length).
            out = self._model(**self._inputs(batch), logits_to_keep=k + 1)
            logp = out.logits[:, -k - 1 : -1].float().log_softmax(-1)
            logp = logp.gather(-1, answer.expand(len(batch), k)[..., None]).squeeze(-1)
            values.extend(logp.sum(-1).exp().cpu().tolist())
        return values
