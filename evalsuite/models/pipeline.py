"""Loading a diffusers pipeline for a suite's ``[model]``, and one timed generation.

How a pipeline is called is its family's business (``evalsuite.models.families``): FLUX.1
takes a distilled guidance, Qwen-Image true CFG with a negative prompt, and so on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from diffusers import DiffusionPipeline
from PIL import Image

from evalsuite.models.families import Family, family_of
from evalsuite.models.tiny import is_tiny, tiny_model_path
from evalsuite.suite.types import ModelSpec


def load_pipeline(model: ModelSpec, device: str) -> Any:
    """Load ``model`` with ``from_pretrained`` (the built-in tiny model takes the same path),
    with its LoRA loaded and fused when it has one."""
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
    if model.lora is not None:  # fused on the host: the weights move to the device once, merged
        from evalsuite.models.families.lora import load_lora

        load_lora(pipe, model.lora)
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


def generate(pipe: Any, model: ModelSpec, device: str, prompt: str, seed: int,
             family: Family | None = None) -> Generation:
    """Generate one image from ``seed``'s noise, timed and device-synchronised.

    ``family`` calls the pipeline (default: ``model``'s, else the one serving ``pipe``'s class).
    """
    kwargs = (family or family_of(model, pipe)).call_kwargs(model, prompt, seed)
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
