"""ARNIQA: no-reference image quality from a distortion-manifold ResNet-50 (torchmetrics).

The network, preprocessing (full- and half-scale views, ImageNet normalisation), feature
normalisation, regressor and score scaling are torchmetrics' ``_NoTrainArniqa``; scores go
through torchmetrics' ``_arniqa_update`` (its input checks and mixed-precision handling).

Only the weight loading differs: torchmetrics' constructor fetches the two upstream release
files with ``torch.hub.load_state_dict_from_url`` into torch.hub's global cache, with no way
to point it elsewhere. ``_ARNIQAFromDir`` makes the same call with ``model_dir`` set, so the
files can come from any local folder, and otherwise behaves exactly like torchmetrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metrics._torch import check_batch_size, dtype_name, resolve_dtype, same_size_batches
from metrics._weights import TORCH_CACHE_ENV, loading
from metrics.base import BaseScorer, Kind, Sample, register, to_tensor

if TYPE_CHECKING:  # torch and torchmetrics load with the model (metrics/base.py)
    from metrics._arniqa_model import ARNIQAFromDir


def weight_files(regressor: str) -> tuple[str, str]:
    """The upstream file names: the encoder and the regressor trained on ``regressor``."""
    return "ARNIQA.pth", f"regressor_{regressor}.pth"


@register
class ARNIQA(BaseScorer):
    """ARNIQA quality in [0, 1] (the regressor's MOS range rescaled); higher is better.

    Args:
        device: Torch device to run on.
        regressor: Dataset the linear regressor was trained on: "koniq10k" (authentic
            distortions, the default) or "kadid10k" (synthetic distortions).
        weights_dir: Folder holding the upstream files ``ARNIQA.pth`` and
            ``regressor_<regressor>.pth`` (missing files are downloaded into it). Default:
            torch.hub's cache (``$TORCH_HOME/hub/checkpoints``), as torchmetrics uses.
        dtype: "auto" (float16 autocast on CUDA, else float32), "float32", "float16" or
            "bfloat16". Half precision runs under autocast, torchmetrics' mixed-precision path.
        batch_size: Images per forward pass (images of different sizes go in separate batches).
    """

    name = "arniqa"
    preload = ("metrics._arniqa_model",)
    higher_is_better = True
    kind = Kind.PER_IMAGE
    ideal = None

    def __init__(
        self,
        device: str = "cpu",
        regressor: str = "koniq10k",
        weights_dir: str | None = None,
        dtype: str = "auto",
        batch_size: int = 16,
    ) -> None:
        super().__init__(device)
        from torchmetrics.functional.image.arniqa import _AVAILABLE_REGRESSOR_DATASETS

        if regressor not in _AVAILABLE_REGRESSOR_DATASETS:
            known = ", ".join(_AVAILABLE_REGRESSOR_DATASETS)
            raise ValueError(f"unknown ARNIQA regressor {regressor!r} (known: {known})")
        self.regressor = regressor
        self.weights_dir = weights_dir
        self.dtype = resolve_dtype(device, dtype)
        self.batch_size = check_batch_size(batch_size)
        self._model: ARNIQAFromDir | None = None

    def identity(self) -> dict[str, Any]:
        from torchmetrics.functional.image.arniqa import _base_url

        return {
            "name": self.name,
            "model": "miccunifi/ARNIQA " + " + ".join(weight_files(self.regressor)),
            "revision": _base_url,  # the release files are versioned only by their URL
            "weights_dir": str(Path(self.weights_dir).expanduser().resolve())
            if self.weights_dir is not None else None,
            "dtype": dtype_name(self.dtype),
            "preprocessing": self.preprocessing(),
        }

    def preprocessing(self) -> str:
        from torchmetrics.functional.image.arniqa import _AVAILABLE_REGRESSOR_DATASETS

        return ("RGB float [0,1], full size + half size (torchvision Resize, bilinear, "
                "antialias), ImageNet mean/std; score scaled from the "
                f"{self.regressor} MOS range {_AVAILABLE_REGRESSOR_DATASETS[self.regressor]} to [0,1]")

    def _load(self) -> ARNIQAFromDir:
        if self._model is None:
            from torchmetrics.functional.image.arniqa import _base_url

            from metrics._arniqa_model import ARNIQAFromDir

            source = self.weights_dir or f"{_base_url}/{weight_files(self.regressor)[0]}"
            with loading(self.name, source, "weights_dir", TORCH_CACHE_ENV):
                self._model = ARNIQAFromDir(self.regressor, self.weights_dir,
                                            weight_files(self.regressor)).to(self.device)
        return self._model

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """One ARNIQA score per sample."""
        if not samples:
            return []
        import torch
        from torchmetrics.functional.image.arniqa import _arniqa_update

        model = self._load()
        images = [s.image for s in samples]
        values = [math.nan] * len(samples)  # every index is filled below
        half = self.dtype != torch.float32
        for idx in same_size_batches(images, self.batch_size):
            x = to_tensor([images[i] for i in idx]).to(self.device, self.dtype)
            with torch.inference_mode():
                # autocast keeps float32 weights and runs the convolutions in half precision;
                # without it torchmetrics casts the whole model to the input's dtype.
                scores, _ = _arniqa_update(x, model, normalize=True, autocast=half)
            for i, v in zip(idx, scores.reshape(-1).float().cpu().tolist(), strict=True):
                values[i] = v
        return values
