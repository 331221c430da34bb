"""Loading a diffusers pipeline for a suite's ``[model]``, and one timed generation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from diffusers import DiffusionPipeline
from PIL import Image

from evalsuite.models.tiny import is_tiny, tiny_model_path
from evalsuite.suite.types import ModelSpec


def load_pipeline(model: ModelSpec, device: str) -> Any:
    """Load ``model`` with ``from_pretrained`` (the built-in tiny model takes the same path)."""
    from evalsuite.models.random_flux import build_random_flux, is_random_model

    if is_random_model(model.id):  # benchmarking at full size without weights (bench/)
        pipe = build_random_flux(model.id, getattr(torch, model.dtype), device)
        pipe.set_progress_bar_config(disable=True)
        return pipe
    if is_tiny(model.id):
        source, revision = str(tiny_model_path(model.id, model.tiny_seed)), None
    else:
        source, revision = model.id, model.revision
    pipe = DiffusionPipeline.from_pretrained(source, revision=revision, dtype=getattr(torch, model.dtype))
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def synchronize(device: str) -> None:
    """Wait for queued device work, so wall-clock time covers the whole generation."""
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class Generation:
    """One generated image with its timing; ``flag`` says why it must not be scored."""

    image: Image.Image
    latency_s: float
    flag: str | None


def generate(pipe: Any, model: ModelSpec, device: str, prompt: str, seed: int) -> Generation:
    """Generate one image from ``seed``'s noise, timed and device-synchronised."""
    # A fresh generator per (prompt, seed) gives every variant the baseline's initial noise.
    generator = torch.Generator(device="cpu").manual_seed(seed)
    kwargs: dict[str, Any] = dict(
        prompt=prompt, height=model.height, width=model.width,
        num_inference_steps=model.steps, guidance_scale=model.guidance,
        generator=generator, output_type="np",
    )
    if model.max_sequence_length is not None:
        kwargs["max_sequence_length"] = model.max_sequence_length
    synchronize(device)
    start = time.perf_counter()
    array = pipe(**kwargs).images[0]
    synchronize(device)
    latency = time.perf_counter() - start
    flag = None
    if not np.isfinite(array).all():
        flag = "non-finite values (NaN/inf) in the decoded image"
    elif float(np.max(array)) < 1.0 / 255.0:
        flag = "all-black image"
    pixels = (np.clip(np.nan_to_num(array), 0.0, 1.0) * 255).round().astype(np.uint8)
    return Generation(Image.fromarray(pixels), latency, flag)
