"""Loading a diffusers pipeline for a suite's ``[model]``, and one timed generation.

How a pipeline is called is its family's business (``evalsuite.models.families``): FLUX.1
takes a distilled guidance, Qwen-Image true CFG with a negative prompt, and so on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from diffusers import DiffusionPipeline
from PIL import Image

from evalsuite.accelerators import ACCELERATORS, Applied
from evalsuite.models.families import Family, family_of
from evalsuite.models.tiny import is_tiny, tiny_model_path
from evalsuite.suite.types import AcceleratorUse, ModelSpec


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


def apply_accelerators(pipe: Any, model: ModelSpec, uses: Sequence[AcceleratorUse]
                       ) -> tuple[Family, list[Applied]]:
    """Apply ``uses`` to ``pipe`` in order, each made for ``model``'s family; (family, applied).

    The suite refused techniques that do not fit before anything ran; a suite parsed without
    that check (a unit test, an old run folder) meets it here, as the variant's failure.
    """
    from evalsuite.models.families import support

    family = family_of(model, pipe)
    applied = []
    for use in uses:
        if (why := support(use.name, family.name, dict(use.params))) is not None:
            raise ValueError(f"{use.name} does not fit {family.title}: {why}")
        applied.append(ACCELERATORS.get(use.name)(family).apply(pipe, dict(use.params)))
    return family, applied


def count_denoiser_calls(pipe: Any, family: Family) -> dict[str, int]:
    """Calls of each of the family's transformers (by pipeline attribute), reset by the caller.

    With two transformers (Wan 2.2's experts) each step calls one of them, so the sum is
    still the steps computed, and each expert's count is its own.
    """
    calls = dict.fromkeys(family.named_transformers(pipe), 0)
    for name, transformer in family.named_transformers(pipe).items():
        transformer.register_forward_pre_hook(lambda *_, n=name: calls.__setitem__(n, calls[n] + 1))
    return calls


def synchronize(device: str) -> None:
    """Wait for queued device work, so wall-clock time covers the whole generation."""
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class Generation:
    """One generated image (or clip) with its timing; ``flag`` says why it must not be scored.

    For a clip, ``frames`` holds every frame (``F x H x W x 3`` uint8) and ``image`` is its
    poster, the middle frame.
    """

    image: Image.Image
    latency_s: float
    flag: str | None
    frames: np.ndarray | None = None

    @property
    def is_clip(self) -> bool:
        """Whether this is a clip (frames) rather than one image."""
        return self.frames is not None


def _flag(array: np.ndarray) -> str | None:
    """Why a decoded image (``H x W x 3``) or clip (``F x H x W x 3``) must not be scored."""
    what = "clip" if array.ndim == 4 else "image"
    if not np.isfinite(array).all():
        return f"non-finite values (NaN/inf) in the decoded {what}"
    if array.ndim == 3:
        return "all-black image" if float(np.max(array)) < 1.0 / 255.0 else None
    black = [i for i, frame in enumerate(array) if float(np.max(frame)) < 1.0 / 255.0]
    if black:
        return f"all-black frame(s) {', '.join(map(str, black[:5]))} of {len(array)} in the clip"
    return None


def to_uint8(array: np.ndarray) -> np.ndarray:
    """[0, 1] floats as uint8 pixels (NaN as 0), rounded as PNG writers expect."""
    return (np.clip(np.nan_to_num(array), 0.0, 1.0) * 255).round().astype(np.uint8)


def generate(pipe: Any, model: ModelSpec, device: str, prompt: str, seed: int,
             family: Family | None = None) -> Generation:
    """Generate one image (or clip) from ``seed``'s noise, timed and device-synchronised.

    ``family`` calls the pipeline (default: ``model``'s, else the one serving ``pipe``'s class).
    """
    family = family or family_of(model, pipe)
    kwargs = family.call_kwargs(model, prompt, seed)
    family.prepare(pipe, model)
    synchronize(device)
    start = time.perf_counter()
    array = np.asarray(family.decoded(pipe(**kwargs)))
    synchronize(device)
    latency = time.perf_counter() - start
    pixels = to_uint8(array)
    if pixels.ndim == 4:  # a clip: the middle frame is its poster
        return Generation(Image.fromarray(pixels[len(pixels) // 2]), latency, _flag(array), pixels)
    return Generation(Image.fromarray(pixels), latency, _flag(array))
