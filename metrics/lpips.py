"""LPIPS of each image against the baseline image of the same prompt and seed (torchmetrics).

The network, input scaling, per-layer feature normalisation, learned linear heads (shipped
inside torchmetrics) and spatial averaging are torchmetrics' ``_NoTrainLpips``; scores go
through its ``_lpips_update``.

Only the backbone's ImageNet weights are loaded differently: torchmetrics asks torchvision
for them, which downloads inside the constructor with no way to give a file. We build the
network with a random backbone (``pnet_rand=True``; the linear heads still load) and then
load torchvision's state dict ourselves, from ``backbone_weights`` when given, else through
torchvision's weights enum (torch.hub's cache, downloading on first use), the same files
torchmetrics would fetch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metrics._torch import check_batch_size, same_size_batches
from metrics._weights import TORCH_CACHE_ENV, loading
from metrics.base import BaseScorer, Kind, Sample, register, require_references, to_tensor

if TYPE_CHECKING:  # torch and torchmetrics load with the model (metrics/base.py)
    import torch
    from torchmetrics.functional.image.lpips import _NoTrainLpips

# LPIPS backbone name -> torchvision model name.
_TORCHVISION = {"alex": "alexnet", "vgg": "vgg16", "squeeze": "squeezenet1_1"}


def _default_weights(net: str) -> Any:
    import torchvision
    from torchmetrics.functional.image.lpips import _weight_map

    return getattr(torchvision.models, _weight_map[_TORCHVISION[net]]).DEFAULT


def load_backbone(lpips: _NoTrainLpips, state_dict: dict[str, torch.Tensor]) -> None:
    """Copy a torchvision classifier's ``features.*`` weights into LPIPS' sliced backbone.

    torchmetrics splits ``model.features`` into slices that keep each layer's index as its
    name, so ``slice2.3.weight`` (AlexNet, VGG) or ``slices.1.3.squeeze.weight`` (SqueezeNet)
    is ``features.3.weight`` / ``features.3.squeeze.weight``. Keys other than ``features.*``
    (the classifier head) are not needed; a missing one is an error.
    """
    mapped = {}
    for key in lpips.net.state_dict():
        parts = key.split(".")
        rest = parts[2:] if parts[0] == "slices" else parts[1:]  # drop the slice's own name
        source = "features." + ".".join(rest)
        if source not in state_dict:
            raise ValueError(f"backbone weights lack {source!r} (needed for LPIPS {key!r})")
        mapped[key] = state_dict[source]
    lpips.net.load_state_dict(mapped, strict=True)


@register
class LPIPS(BaseScorer):
    """Learned perceptual distance to the baseline image; 0 means identical, lower is better.

    Args:
        device: Torch device to run on.
        net: Backbone: "alex" (default, the LPIPS authors' recommendation as a metric),
            "vgg" or "squeeze".
        backbone_weights: Path of the torchvision ImageNet state dict of that backbone (e.g.
            ``alexnet-owt-7be5be79.pth``). Default: torchvision's weights via torch.hub's cache.
        batch_size: Image pairs per forward pass.

    Always float32: LPIPS normalises features with an epsilon of 1e-8, below float16's range,
    and squares activations that can overflow it.
    """

    name = "lpips"
    preload = ("torchvision", "torchmetrics.functional.image.lpips")
    higher_is_better = False
    kind = Kind.PAIRED
    ideal = 0.0

    def __init__(
        self,
        device: str = "cpu",
        net: str = "alex",
        backbone_weights: str | None = None,
        batch_size: int = 16,
    ) -> None:
        super().__init__(device)
        if net not in _TORCHVISION:
            raise ValueError(f"unknown LPIPS net {net!r} (known: {', '.join(_TORCHVISION)})")
        self.net = net
        self.backbone_weights = backbone_weights
        self.batch_size = check_batch_size(batch_size)
        self._model: _NoTrainLpips | None = None

    def identity(self) -> dict[str, Any]:
        import torchmetrics

        if self.backbone_weights is not None:
            backbone = str(Path(self.backbone_weights).expanduser().resolve())
        else:
            backbone = _default_weights(self.net).url
        return {
            "name": self.name,
            "model": f"lpips-{self.net} (torchmetrics {torchmetrics.__version__} linear heads)",
            "revision": backbone,
            "dtype": "float32",
            "preprocessing": self.preprocessing(),
        }

    def preprocessing(self) -> str:
        return "RGB float [0,1] -> [-1,1], full resolution, LPIPS scaling layer, spatial mean"

    def _load(self) -> _NoTrainLpips:
        if self._model is None:
            import torch
            from torchmetrics.functional.image.lpips import _NoTrainLpips

            model = _NoTrainLpips(net=self.net, pretrained=True, pnet_rand=True)
            source = self.backbone_weights or f"torchvision {_TORCHVISION[self.net]} ImageNet weights"
            with loading(self.name, source, "backbone_weights", TORCH_CACHE_ENV):
                if self.backbone_weights is not None:
                    state = torch.load(self.backbone_weights, map_location="cpu", weights_only=True)
                else:
                    state = _default_weights(self.net).get_state_dict(progress=False)
            load_backbone(model, state)
            self._model = model.to(self.device)
        return self._model

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """One LPIPS distance per sample, to the sample's reference image."""
        if not samples:
            return []
        import torch
        from torchmetrics.functional.image.lpips import _lpips_update

        refs = require_references(samples, self.name)
        model = self._load()
        images = [s.image for s in samples]
        values = [math.nan] * len(samples)  # every index is filled below
        for idx in same_size_batches(images, self.batch_size):
            x = to_tensor([images[i] for i in idx]).to(self.device)
            y = to_tensor([refs[i] for i in idx]).to(self.device)
            with torch.inference_mode():
                scores = _lpips_update(x, y, model, normalize=True)
            for i, v in zip(idx, scores.reshape(-1).float().cpu().tolist(), strict=True):
                values[i] = v
        return values
