"""The torch half of the CLIP loading in ``metrics/_clip.py``: a CLIPModel torchmetrics can call.

Kept apart so that ``metrics._clip`` (identities, processors) imports without torch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class CLIPFeatures(nn.Module):
    """A ``CLIPModel`` whose feature methods return tensors, as torchmetrics expects.

    Inputs are cast to the model's dtype (torchmetrics feeds float32 pixels, which a float16
    model would reject) and outputs to float32, so normalisation and softmax stay exact.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        # torchmetrics reads config.text_config.max_position_embeddings for long captions.
        self.config = model.config

    @property
    def _param(self) -> torch.Tensor:
        return next(self.model.parameters())

    def get_image_features(self, pixel_values: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Projected image embeddings [N, D] (not normalised), float32."""
        p = self._param
        out = self.model.get_image_features(
            pixel_values=pixel_values.to(device=p.device, dtype=p.dtype), **kwargs
        )
        return _pooled(out).float()

    def get_text_features(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **kwargs: Any
    ) -> torch.Tensor:
        """Projected text embeddings [N, D] (not normalised), float32."""
        device = self._param.device
        mask = attention_mask.to(device) if attention_mask is not None else None
        out = self.model.get_text_features(
            input_ids=input_ids.to(device), attention_mask=mask, **kwargs
        )
        return _pooled(out).float()


def _pooled(out: Any) -> torch.Tensor:
    # transformers 4 returned the tensor itself; 5 returns a ModelOutput holding it.
    return out if isinstance(out, torch.Tensor) else out.pooler_output
