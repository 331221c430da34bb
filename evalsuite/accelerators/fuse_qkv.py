"""Fused QKV projections (one of Modal's "standard optimizations" for FLUX).

``fuse_qkv_projections`` concatenates each attention's query, key and value weights into one
linear layer (and the added text-stream projections into another), so one larger matmul
replaces three. The result is numerically equivalent up to float rounding. It must run
before quantization: torchao's tensors cannot be concatenated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalsuite.accelerators.base import (
    ORDER_PIPELINE,
    Accelerator,
    Applied,
    ModelFamily,
    Param,
    register,
    unchecked,
)


def fused_attention_count(module: Any) -> tuple[int, int]:
    """(attention modules with fused projections, attention modules that can fuse).

    Both diffusers attention classes qualify: the new ``AttentionModuleMixin`` (FLUX's
    transformer) and the older ``Attention`` (the VAE's mid-block).
    """
    attns = [m for m in module.modules()
             if callable(getattr(m, "fuse_projections", None)) and getattr(m, "_supports_qkv_fusion", True)]
    return sum(bool(getattr(m, "fused_projections", False)) for m in attns), len(attns)


@register
class FuseQKV(Accelerator):
    """diffusers' fused QKV projections on the transformer (and optionally the VAE)."""

    name = "fuse_qkv"
    deprecated_names = ("fuse-qkv",)
    family = "pipeline"
    order = ORDER_PIPELINE
    description = "fuse each attention's Q, K, V projections into one matmul (transformer; VAE optional)"
    params = {
        "vae": Param(bool, True, "also fuse the VAE's attention projections"),
    }

    def supports(self, family: ModelFamily, params: Mapping[str, Any]) -> str | None:
        return unchecked(family, "fuse_qkv")

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        pipe.transformer.fuse_qkv_projections()
        fused, total = fused_attention_count(pipe.transformer)
        if fused == 0:
            raise RuntimeError(f"fuse_qkv_projections fused none of the transformer's {total} "
                               "attention modules")
        notes: dict[str, Any] = {"transformer_fused": fused, "transformer_attention": total}
        if params["vae"] and hasattr(pipe.vae, "fuse_qkv_projections"):
            pipe.vae.fuse_qkv_projections()
            notes["vae_fused"] = fused_attention_count(pipe.vae)[0]
        return Applied(notes=notes)
