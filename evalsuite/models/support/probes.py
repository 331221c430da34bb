"""The rows of the support matrix: each accelerator with the settings it is tried at.

A probe is one accelerator with parameters chosen so that, on every tiny built-in, a cache
has something to skip (thresholds far above the per-step change of random weights), a
technique with several kernels is tried at the one it names (``torchao int8wo``), and a
``calibrate`` probe has its per-model numbers fitted on the family's own model first. Probes that
this machine cannot run by construction carry their reason (``needs``): the matrix runs on
CPU in one process, so a CUDA-only kernel or a group of ranks is n/a there, whatever the model.

Caches are tried on the family's one loaded pipeline and taken off again (``remove``);
techniques with no undo (quantization, fusion, compilation, memory format) run on a deep copy
of it, so the next cell sees the pipeline as loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Why a probe is n/a here, as measured on this project's CPU machines.
CUDA_FLOAT8 = ("needs CUDA compute capability >= 8.9 (or MI300+/XPU): torchao 0.18 asserts "
               "'Float8 dynamic quantization requires CUDA compute capability >=8.9' on any other "
               "device, CPU included")
CUDA_EFFICIENT = ("needs CUDA: PyTorch has no CPU kernel for memory-efficient SDPA ('No viable "
                  "backend for scaled_dot_product_attention' on CPU)")
CUDA_SAGE = "needs CUDA and the sageattention package (SageAttention's kernels are Triton/CUDA only)"
RANKS = ("needs a group of >= 2 ranks started by torchrun (the matrix runs in one process); "
         "its CPU path (Ulysses over gloo) is tested in tests/evalsuite/run")


def _transformers(pipe: Any) -> list[Any]:
    """The pipeline's transformer, and Wan 2.2's second expert where it has one."""
    return [t for t in (pipe.transformer, getattr(pipe, "transformer_2", None)) if t is not None]


def _disable_cache(pipe: Any) -> None:
    for transformer in _transformers(pipe):
        if transformer.is_cache_enabled:
            transformer.disable_cache()


def _remove_teacache(pipe: Any) -> None:
    from evalsuite.accelerators.teacache import remove_teacache

    for transformer in _transformers(pipe):
        remove_teacache(transformer)


def _remove_para_attn(pipe: Any) -> None:
    # ParaAttentionCache.remove's own two steps: the adapter shadows these two attributes on
    # the instances (never the classes), so deleting them restores the class's methods.
    del pipe.transformer.forward
    del pipe.scheduler.set_timesteps


def _remove_cache_dit(pipe: Any) -> None:
    import cache_dit

    cache_dit.disable_cache(pipe)


@dataclass(frozen=True)
class Probe:
    """One row of the matrix.

    Attributes:
        label: the row's name (the accelerator, plus what distinguishes the probe).
        accelerator: the registered name.
        params: what a suite would write; defaults fill the rest.
        remove: how to take a cache off the pipeline (None: not a cache).
        needs: why this probe cannot run in the matrix's process (its n/a), if so.
    """

    label: str
    accelerator: str
    params: Mapping[str, Any] = field(default_factory=dict)
    remove: Callable[[Any], None] | None = None
    needs: str | None = None


PROBES: tuple[Probe, ...] = (
    Probe("fbcache", "fbcache", {"threshold": 0.5}, _disable_cache),
    Probe("taylorseer", "taylorseer", {"cache_interval": 2, "disable_cache_before_step": 1}, _disable_cache),
    Probe("magcache", "magcache", {"threshold": 1.0, "max_skip_steps": 10}, _disable_cache),
    Probe("magcache calibrate", "magcache", {"threshold": 1.0, "max_skip_steps": 10,
                                             "mag_ratios": "calibrate"}, _disable_cache),
    Probe("fastercache", "fastercache", {"block_skip_range": 2}, _disable_cache),
    Probe("pab", "pab", {"block_skip_range": 2}, _disable_cache),
    Probe("teacache", "teacache", {"threshold": 5.0}, _remove_teacache),
    Probe("teacache calibrate", "teacache", {"threshold": 5.0, "coefficients": "calibrate"},
          _remove_teacache),
    Probe("para_attn", "para_attn", {"residual_diff_threshold": 0.5}, _remove_para_attn),
    Probe("cache_dit", "cache_dit", {"Fn_compute_blocks": 1, "max_warmup_steps": 1,
                                     "residual_diff_threshold": 0.5}, _remove_cache_dit),
    Probe("torchao int8wo", "torchao", {"scheme": "int8wo"}),
    Probe("torchao int8dq", "torchao", {"scheme": "int8dq"}),
    Probe("torchao float8wo", "torchao", {"scheme": "float8wo"}),
    Probe("torchao float8dq-row", "torchao", {"scheme": "float8dq-row"}, needs=CUDA_FLOAT8),
    Probe("compile", "compile", {}),
    Probe("fuse_qkv", "fuse_qkv", {"vae": False}),
    Probe("channels_last", "channels_last", {}),
    Probe("attention_backend native", "attention_backend", {"backend": "native"}),
    Probe("attention_backend _native_efficient", "attention_backend", {"backend": "_native_efficient"},
          needs=CUDA_EFFICIENT),
    Probe("attention_backend sage", "attention_backend", {"backend": "sage"}, needs=CUDA_SAGE),
    Probe("context_parallel", "context_parallel", {"ulysses": 2}, needs=RANKS),
)
