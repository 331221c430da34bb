"""torch.compile of the transformer, whole or regionally (each repeated block).

Regional compilation (diffusers' ``compile_repeated_blocks``, or the family's block lists
where diffusers names no repeated block) compiles one FLUX double block and one single block
and reuses the code for all 57, so compiling takes seconds instead of
minutes, and the cache hooks around the blocks stay in eager Python. Whole-model
compilation compiles ``transformer.forward`` (not the module's ``__call__``) so that forward
hooks, the worker's step counter among them, stay outside the graph.

Compilation is lazy: it happens during the worker's first warm-up call. The worker reads
Dynamo's own compile timers after the warm-up and after the run, so compile time is kept
apart from warm latency and a recompilation during the timed run is flagged.

A persistent ``cache_dir`` (Inductor's FX-graph and kernel cache, and Triton's) makes later
workers and later runs start warm; it is set through the environment before anything
compiles, which in a per-variant worker only affects that variant.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evalsuite.accelerators.base import ORDER_COMPILE, Accelerator, Applied, Param, register

MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
DYNAMIC = ("auto", "true", "false")
# The Inductor flags of Modal's and PyTorch's FLUX/SD3 tuning posts ("standard optimizations").
MODAL_INDUCTOR_FLAGS = {
    "conv_1x1_as_mm": True,
    "coordinate_descent_tuning": True,
    "coordinate_descent_check_all_directions": True,
    "epilogue_fusion": False,
}


def compile_seconds() -> float:
    """Wall time Dynamo + Inductor have spent compiling in this process so far."""
    import torch._dynamo.utils as dynamo_utils

    return float(sum(dynamo_utils.compilation_time_metrics.get("_compile.compile_inner", [])))


def set_cache_dir(path: str) -> str:
    """Point Inductor's and Triton's caches at ``path`` (created); return the absolute path."""
    root = Path(path).expanduser().resolve()
    (root / "triton").mkdir(parents=True, exist_ok=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(root)
    os.environ["TRITON_CACHE_DIR"] = str(root / "triton")
    return str(root)


@register
class TorchCompile(Accelerator):
    """torch.compile of the transformer (regional by default)."""

    name = "compile"
    family = "compile"
    order = ORDER_COMPILE
    description = (
        "torch.compile of the transformer: whole or regional (each repeated block); compile "
        "time is recorded apart from warm latency; optional persistent Inductor/Triton cache"
    )
    params = {
        "mode": Param(str, "default", "torch.compile mode", choices=MODES),
        "fullgraph": Param(bool, False, "fail on any graph break instead of splitting the graph"),
        "dynamic": Param(str, "auto", "dynamic shapes: auto (torch decides), true or false",
                         choices=DYNAMIC),
        "regional": Param(bool, True, "compile each repeated block instead of the whole transformer"),
        "cache_dir": Param(str, "", "persistent Inductor/Triton cache folder; empty = torch's default "
                           "(under /tmp, per user)"),
        "inductor_flags": Param(str, "none", "extra Inductor settings: none, or modal (conv 1x1 as "
                                "mm, coordinate-descent tuning, no epilogue fusion)",
                                choices=("none", "modal")),
        "vae": Param(bool, False, "also compile the VAE decoder"),
    }

    def conflicts(self, params: Mapping[str, Any], others: Mapping[str, Mapping[str, Any]]) -> str | None:
        from evalsuite.accelerators.base import ACCELERATORS

        caches = [n for n in others if ACCELERATORS.get(n).family == "cache"]
        if params["fullgraph"] and caches:
            return (f"compile.fullgraph = true cannot work with the cache {caches[0]}: a cache decides in "
                    "Python between blocks, which is a graph break by design (use fullgraph = false)")
        if params["mode"] in ("reduce-overhead", "max-autotune") and caches:
            return (f"compile.mode = {params['mode']} records CUDA graphs, which the cache {caches[0]} "
                    "defeats (cached and computed steps take different paths; ParaAttention and "
                    "cache-dit advise against it): use max-autotune-no-cudagraphs")
        return None

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        import torch

        notes: dict[str, Any] = {"compile_s_before": compile_seconds()}
        if params["cache_dir"]:
            notes["cache_dir"] = set_cache_dir(params["cache_dir"])
        if params["inductor_flags"] == "modal":
            for key, value in MODAL_INDUCTOR_FLAGS.items():
                setattr(torch._inductor.config, key, value)
        dynamic = {"auto": None, "true": True, "false": False}[params["dynamic"]]
        kwargs = {"fullgraph": params["fullgraph"], "dynamic": dynamic}
        if params["mode"] != "default":
            kwargs["mode"] = params["mode"]
        transformer = pipe.transformer
        if params["regional"] and not getattr(transformer, "_repeated_blocks", None):
            # diffusers names no repeated block for this class (SD3.5, Sana, HiDream in
            # 0.42.1); the family's block lists are those blocks.
            for block in self._family_blocks(transformer):
                block.compile(**kwargs)
            notes["compiled"] = sorted({type(m).__name__ for m in transformer.modules()
                                        if getattr(m, "_compiled_call_impl", None) is not None})
        elif params["regional"]:
            transformer.compile_repeated_blocks(**kwargs)
            notes["compiled"] = sorted({type(m).__name__ for m in transformer.modules()
                                        if getattr(m, "_compiled_call_impl", None) is not None})
        else:
            transformer.forward = torch.compile(transformer.forward, **kwargs)
            notes["compiled"] = [f"{type(transformer).__name__}.forward"]
        if params["vae"]:
            pipe.vae.decode = torch.compile(pipe.vae.decode, **kwargs)
            notes["compiled"].append("vae.decode")
        if not notes["compiled"]:
            raise RuntimeError("torch.compile found no repeated block to compile in this transformer")
        return CompileApplied(notes=notes)


    def _family_blocks(self, transformer: Any) -> list[Any]:
        if self.model_family is None or not self.model_family.known:
            raise ValueError(f"{type(transformer).__name__} names no repeated block to compile "
                             "regionally and no family adapter lists its blocks: set regional = false")
        return [b for _, blocks in self.model_family.block_lists(transformer) for b in blocks]


class CompileApplied(Applied):
    """Reports the compile time Dynamo measured; flags compilation during the timed run."""

    warm_compile_s: float | None = None

    def warmed_up(self) -> None:
        """Called by the worker after the warm-up: compilation so far belongs to the cold start."""
        self.warm_compile_s = compile_seconds()

    def check(self) -> str | None:
        if compile_seconds() == self.notes["compile_s_before"]:
            return "inert: torch.compile compiled nothing during the run"
        if self.warm_compile_s is not None and compile_seconds() > self.warm_compile_s + 1e-9:
            return (f"recompiled during the timed run ({compile_seconds() - self.warm_compile_s:.1f} s): "
                    "timed latencies include compilation (new shapes or guards)")
        return None

    def telemetry(self) -> dict[str, Any]:
        total = compile_seconds() - self.notes["compile_s_before"]
        warm = None if self.warm_compile_s is None else self.warm_compile_s - self.notes["compile_s_before"]
        return {**{k: v for k, v in self.notes.items() if k != "compile_s_before"},
                "compile_s": warm if warm is not None else total, "compile_s_total": total}
