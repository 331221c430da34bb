"""Validation of context-parallel variants against the launch and the model, before any work.

diffusers would otherwise fail deep inside the first generation (an ``assert`` on the
sequence split, a shape error in the all-to-all), after every rank has loaded the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalsuite.accelerators import ACCELERATORS
from evalsuite.accelerators.context_parallel import degree
from evalsuite.errors import UserError
from evalsuite.models.tiny import is_tiny, tiny_model_path
from evalsuite.suite.spec import Suite
from evalsuite.suite.types import ModelSpec, Variant

CP = "context_parallel"
FLUX_DEFAULT_TEXT_TOKENS = 512  # FluxPipeline's max_sequence_length default


def cp_params(variant: Variant) -> dict[str, Any] | None:
    """The variant's context-parallel parameters, or None for a one-GPU variant."""
    return next((dict(a.params) for a in variant.accelerators if a.name == CP), None)


def gpus_per_image(variant: Variant, default: int = 1) -> int:
    """GPUs that make one image of ``variant``: its context-parallel group's size, else ``default``.

    The runner schedules ranks with ``default`` 1; the report bills ``[hardware] gpus``.
    """
    params = cp_params(variant)
    return degree(params) if params else default


def model_config(model: ModelSpec, component: str) -> dict[str, Any] | None:
    """A component's ``config.json`` without loading weights; None when it cannot be read."""
    try:
        if is_tiny(model.id):
            folder = tiny_model_path(model.id, model.tiny_seed)
            return json.loads((folder / component / "config.json").read_text())
        if Path(model.id).is_dir():
            return json.loads((Path(model.id) / component / "config.json").read_text())
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(model.id, f"{component}/config.json", revision=model.revision)
        return json.loads(Path(path).read_text())
    except Exception:  # noqa: BLE001 - offline or gated: the worker reports diffusers' own error
        return None


def _flux_tokens(model: ModelSpec) -> tuple[int, int] | None:
    """(image tokens, text tokens) of one FLUX generation at the suite's resolution."""
    vae = model_config(model, "vae")
    if vae is None or "block_out_channels" not in vae:
        return None
    # FluxPipeline: latents are 1/vae_scale of the image, then packed into 2x2 patches.
    patch = 2 ** (len(vae["block_out_channels"]) - 1) * 2
    image = (model.height // patch) * (model.width // patch)
    return image, model.max_sequence_length or FLUX_DEFAULT_TEXT_TOKENS


def check_parallel_variants(suite: Suite, world_size: int) -> None:
    """Raise :class:`UserError` naming the key when a CP variant cannot run in this launch."""
    transformer: dict[str, Any] | None = None
    for v in suite.variants:
        params = cp_params(v)
        if params is None:
            continue
        key = f"{suite.source}: variant.{v.name}.{CP}"
        k = degree(params)
        if world_size % k:
            raise UserError(
                f"{key}: degree {k} does not divide the world size {world_size} (launch with "
                f"torchrun --nproc_per_node a multiple of {k}; without torchrun the world is 1)")
        caches = [a.name for a in v.accelerators if ACCELERATORS.get(a.name).family == "cache"]
        if caches:
            raise UserError(
                f"{key}: cannot combine with cache {caches[0]}: the cache decides from this rank's "
                "slice of the activations, so ranks would skip different steps and deadlock")
        transformer = transformer or model_config(suite.model, "transformer") or {}
        heads = transformer.get("num_attention_heads")
        if heads is not None and heads % params["ulysses"]:
            raise UserError(f"{key}.ulysses: {params['ulysses']} does not divide the model's "
                            f"{heads} attention heads")
        if transformer.get("_class_name") == "FluxTransformer2DModel":
            tokens = _flux_tokens(suite.model)
            if tokens is None:
                continue
            for what, n in zip(("image tokens (model.height/width)",
                                "text tokens (model.max_sequence_length)"), tokens, strict=True):
                if n % k:
                    raise UserError(f"{key}: degree {k} does not divide the {n} {what}")
