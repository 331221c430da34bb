"""Small helpers shared by the model-based scorers: dtype choice, batching, image tensors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # light at import time (see metrics/base.py); torch loads on first use
    import torch
    from PIL import Image

DTYPE_NAMES = ("float32", "float16", "bfloat16")


def resolve_dtype(device: str, dtype: str, half_ok: bool = True) -> torch.dtype:
    """The compute dtype for ``dtype`` ("auto", "float32", "float16" or "bfloat16").

    "auto" means float16 on CUDA when the metric tolerates it (``half_ok``) and float32
    otherwise: CPU half-precision convolutions are slow or missing, and the value of a
    metric must not depend on a silent precision change, so the choice is recorded.
    """
    import torch

    if dtype == "auto":
        return torch.float16 if half_ok and device.startswith("cuda") else torch.float32
    if dtype not in DTYPE_NAMES:
        known = ", ".join(["auto", *DTYPE_NAMES])
        raise ValueError(f"unknown dtype {dtype!r} (known: {known})")
    return getattr(torch, dtype)


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float16`` -> ``"float16"``, for identities."""
    return str(dtype).removeprefix("torch.")


def check_batch_size(batch_size: int) -> int:
    """Validate the ``batch_size`` option (a positive int)."""
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return batch_size


def same_size_batches(images: Sequence[Image.Image], batch_size: int) -> Iterator[list[int]]:
    """Indices of ``images`` in chunks of at most ``batch_size`` images of one size.

    Convolutional metrics stack a batch into one tensor, so sizes cannot be mixed.
    """
    groups: dict[tuple[int, int], list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(im.size, []).append(i)
    for idx in groups.values():
        for start in range(0, len(idx), batch_size):
            yield idx[start : start + batch_size]


def uint8_chw(image: Image.Image) -> torch.Tensor:
    """One PIL image as a uint8 tensor [3, H, W] (what Hugging Face processors expect)."""
    import numpy as np
    import torch

    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1)
