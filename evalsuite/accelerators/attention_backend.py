"""Attention kernel choice through diffusers' attention dispatcher.

``transformer.set_attention_backend(name)`` routes every attention call of the model to
one kernel: ``native`` is PyTorch's SDPA (which picks its own kernel), ``_native_flash`` /
``_native_efficient`` / ``_native_cudnn`` / ``_native_math`` pin one SDPA kernel, ``flash``
and ``_flash_3`` use the flash-attn package, ``sage`` the sageattention package. Backends
whose package or hardware is missing fail validation, before any work starts.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from evalsuite.accelerators.base import ORDER_PIPELINE, Accelerator, Applied, Environment, Param, register

# Backend -> (Python package it needs or None, runs on CPU)
BACKENDS: dict[str, tuple[str | None, bool]] = {
    "native": (None, True),
    "_native_math": (None, True),
    "_native_flash": (None, False),
    "_native_efficient": (None, False),
    "_native_cudnn": (None, False),
    "flex": (None, True),
    "flash": ("flash_attn", False),
    "_flash_3": ("flash_attn_interface", False),
    "sage": ("sageattention", False),
}


def backends_in_use(module: Any) -> set[str]:
    """The dispatcher backend of every attention processor under ``module``."""
    names = set()
    for m in module.modules():
        processor = getattr(m, "processor", None)
        if processor is not None and hasattr(processor, "_attention_backend"):
            backend = processor._attention_backend
            names.add(getattr(backend, "value", str(backend)))
    return names


@register
class AttentionBackend(Accelerator):
    """diffusers attention dispatcher backend for the transformer."""

    name = "attention_backend"
    deprecated_names = ("attention-backend",)
    family = "pipeline"
    order = ORDER_PIPELINE
    description = ("attention kernel via diffusers' dispatcher: native SDPA, a pinned SDPA kernel, "
                   "flex, flash-attn or SageAttention (where installed)")
    params = {
        "backend": Param(str, "native", "dispatcher backend name", choices=tuple(BACKENDS)),
    }

    def check_environment(self, params: Mapping[str, Any], env: Environment) -> None:
        package, cpu_ok = BACKENDS[params["backend"]]
        if package is not None and importlib.util.find_spec(package) is None:
            raise ValueError(f"attention backend {params['backend']!r} needs the {package} package, "
                             "which is not installed")
        if not cpu_ok and not env.device.startswith("cuda"):
            raise ValueError(f"attention backend {params['backend']!r} runs on CUDA only; this run is "
                             "on the CPU (use native or _native_math)")

    def conflicts(self, params: Mapping[str, Any], others: Mapping[str, Mapping[str, Any]]) -> str | None:
        if "context_parallel" in others:
            return ("attention_backend with context_parallel: set context_parallel.attention_backend "
                    "instead (the parallel attention chooses the kernel)")
        return None

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        pipe.transformer.set_attention_backend(params["backend"])
        used = backends_in_use(pipe.transformer)
        if used != {params["backend"]}:
            raise RuntimeError(f"attention backend {params['backend']!r} was not applied to every "
                               f"attention processor (found {sorted(used)})")
        return Applied(notes={"backend": params["backend"]})
