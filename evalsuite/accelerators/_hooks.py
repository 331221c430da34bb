"""Shared plumbing for the caches built on diffusers' hook system (``diffusers.hooks``).

diffusers' caches decide inside their hooks whether to run a module or serve it from cache,
and keep no counter. We count by observing the hook's own call chain: each hook calls
``fn_ref.original_forward`` exactly when it computes, and the registry calls
``fn_ref.forward`` once per module call. Wrapping those two mutable references counts the
decisions without touching the algorithm, and ``disable_cache()`` still restores the module.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evalsuite.accelerators.base import StepCounter

if TYPE_CHECKING:  # torch is imported lazily: the suite parser imports this package
    import torch


def find_hooks(root: torch.nn.Module, hook_type: type) -> list[tuple[str, Any]]:
    """(module name, hook) for every hook of ``hook_type`` under ``root``, in module order."""
    return [
        (name, hook)
        for name, module in root.named_modules()
        if (registry := getattr(module, "_diffusers_hook", None)) is not None
        for hook in registry.hooks.values()
        if isinstance(hook, hook_type)
    ]


def count_computes(hook: Any, counter: StepCounter) -> None:
    """Record one decision per call of ``hook``'s module: computed if it ran the original forward.

    Call it on a hook that sees each denoising step exactly once (the head block of a
    block cache, or the first hooked module of a per-module cache).
    """
    import torch

    # Bookkeeping stays out of compiled graphs: a counter value read by Dynamo would become
    # a guard and recompile the block on every step.
    mark = torch.compiler.disable(_mark)
    record = torch.compiler.disable(_record)
    ran = [False]
    original = hook.fn_ref.original_forward
    forward = hook.fn_ref.forward

    @functools.wraps(original)
    def flagged(*args: Any, **kwargs: Any) -> Any:
        mark(ran, True)
        return original(*args, **kwargs)

    @functools.wraps(forward)
    def counted(*args: Any, **kwargs: Any) -> Any:
        mark(ran, False)
        out = forward(*args, **kwargs)
        record(counter, ran)
        return out

    hook.fn_ref.original_forward = flagged
    hook.fn_ref.forward = counted


def _mark(flag: list[bool], value: bool) -> None:
    flag[0] = value


def _record(counter: StepCounter, flag: list[bool]) -> None:
    counter.record(flag[0])


def count_first_hook(root: torch.nn.Module, hook_type: type, counter: StepCounter) -> str:
    """Count decisions on the first hook of ``hook_type`` under ``root``; return its module name."""
    hooks = find_hooks(root, hook_type)
    if not hooks:
        raise RuntimeError(f"no {hook_type.__name__} found on {type(root).__name__}: the cache "
                           "matched no module of this model")
    name, hook = hooks[0]
    count_computes(hook, counter)
    return name


def current_timestep(pipe: Any) -> Callable[[], float]:
    """A callback returning the denoising loop's current timestep (0-1000, falling).

    Attention-broadcast caches key their skip windows on it; diffusers pipelines expose it
    as ``current_timestep`` while the loop runs.
    """
    import torch

    def read() -> float:
        t = getattr(pipe, "current_timestep", None)
        if t is None:
            raise RuntimeError(f"{type(pipe).__name__} exposes no current_timestep; this cache "
                               "needs a pipeline that does")
        return float(t.flatten()[0]) if torch.is_tensor(t) else float(t)

    return read


def num_steps(pipe: Any) -> int | None:
    """Denoising steps of the pipeline call under way (diffusers sets ``_num_timesteps``)."""
    n = getattr(pipe, "_num_timesteps", None)
    return int(n) if n else None
