"""The torch half of ``metrics/arniqa.py``: torchmetrics' ARNIQA network with its weights from a folder.

Kept apart so that ``metrics.arniqa`` (the scorer's options and identity) imports without torch.
"""

from __future__ import annotations

import warnings

import torch
from torchmetrics.functional.image.arniqa import _base_url, _NoTrainArniqa


class ARNIQAFromDir(_NoTrainArniqa):
    """torchmetrics' ARNIQA whose weights are read from (or downloaded into) ``weights_dir``."""

    def __init__(self, regressor_dataset: str, weights_dir: str | None, files: tuple[str, str]) -> None:
        # Both read by _load_weights, which the parent init calls.
        self._weights_dir, self._files = weights_dir, files
        super().__init__(regressor_dataset=regressor_dataset)  # type: ignore[arg-type]

    def _load_weights(self) -> None:
        # Same files, key renames and strictness as torchmetrics' _load_weights; model_dir=None
        # is torch.hub's cache, so the default behaves as torchmetrics does.
        encoder_file, regressor_file = self._files  # arniqa.weight_files
        encoder = torch.hub.load_state_dict_from_url(
            f"{_base_url}/{encoder_file}", model_dir=self._weights_dir, map_location="cpu"
        )
        self.encoder.load_state_dict(
            {k.replace("model.", ""): v for k, v in encoder.items() if "projector" not in k},
            strict=True,
        )
        with warnings.catch_warnings():
            # The regressor is a TorchScript archive; torch warns when torch.load opens one.
            warnings.filterwarnings("ignore", message=".*TorchScript archive", category=UserWarning)
            warnings.filterwarnings("ignore", message=".*torch.jit.load", category=FutureWarning)
            regressor = torch.hub.load_state_dict_from_url(
                f"{_base_url}/{regressor_file}", model_dir=self._weights_dir, map_location="cpu"
            ).state_dict()
        self.regressor.load_state_dict(
            {"weight": regressor["weights"], "bias": regressor["biases"].unsqueeze(0)}, strict=True
        )
