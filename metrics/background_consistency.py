"""VBench's background consistency: how alike a clip's frames stay in CLIP ViT-B/32 features.

As vbench/background_consistency.py at 45e79ec: the model is OpenAI's CLIP ViT-B/32
(``clip.load("ViT-B/32")``); each frame, as uint8 RGB, goes through ``clip_transform(224)``
(torchvision ``Resize(224, bicubic, antialias=False)`` of the shorter side, ``CenterCrop(224)``,
/255, CLIP's mean and std); its feature is ``encode_image``, L2-normalised; the clip's value is
VBench's consistency of those features (``metrics._video.consistency``).

The weights are the Hugging Face port of the same OpenAI checkpoint
(``openai/clip-vit-base-patch32``; ``get_image_features`` is ``encode_image``), loaded as the
other CLIP scorers load theirs (metrics/_clip.py); the input size follows the model's config
(224 for ViT-B/32).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metrics._clip import load_clip, model_identity
from metrics._torch import check_batch_size, dtype_name, resolve_dtype
from metrics._video import clip_uint8, consistency
from metrics._weights import loading
from metrics.base import BaseScorer, Kind, Modality, Sample, register, require_clips

# vbench/utils.py clip_transform: OpenAI CLIP's normalisation.
MEAN, STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


@register
class BackgroundConsistency(BaseScorer):
    """VBench's background consistency: CLIP features across frames, in [0, 1]; higher is better.

    Args:
        device: Torch device.
        model: Hub id or local folder of a Hugging Face ``CLIPModel`` (VBench's ViT-B/32).
        revision: Hub revision; ignored for local folders.
        dtype: "auto" (float32; VBench's CUDA CLIP runs float16, ask for it), "float32",
            "float16" or "bfloat16".
        batch_size: Frames per forward pass.
    """

    name = "background_consistency"
    preload = ("metrics._clip_model", "transformers.models.clip.modeling_clip",
               "torchvision.transforms.functional")
    higher_is_better = True
    kind = Kind.PER_IMAGE
    modality = Modality.VIDEO

    def __init__(self, device: str = "cpu", model: str = "openai/clip-vit-base-patch32",
                 revision: str | None = None, dtype: str = "auto", batch_size: int = 32) -> None:
        super().__init__(device)
        self.model_name, self.revision = model, revision
        self.dtype = resolve_dtype(device, dtype, half_ok=False)
        self.batch_size = check_batch_size(batch_size)
        self._clip: Any = None

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), **model_identity(self.model_name, self.revision),
                "dtype": dtype_name(self.dtype)}

    def preprocessing(self) -> str:
        return ("RGB uint8, shorter side resized to the model's size (bicubic, no antialias), centre "
                f"crop, /255, normalise mean {MEAN} std {STD}; CLIP image embedding, L2-normalised; "
                "VBench consistency")

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """One consistency per clip."""
        import torch
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as TF

        if self._clip is None:
            with loading(self.name, self.model_name):
                self._clip = load_clip(self.model_name, self.revision, self.device, self.dtype)[0]
        size = self._clip.config.vision_config.image_size
        values = []
        for clip in require_clips(samples, self.name):
            x = TF.resize(clip_uint8(clip), size, InterpolationMode.BICUBIC, antialias=False)
            x = TF.normalize(TF.center_crop(x, size).float().div(255.0), MEAN, STD)
            x = x.to(self.device, self.dtype)
            with torch.inference_mode():
                feats = torch.cat([self._clip.get_image_features(x[i : i + self.batch_size])
                                   for i in range(0, len(x), self.batch_size)])
            values.append(consistency(feats.float().cpu()))
        return values
