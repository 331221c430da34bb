"""cache-dit's DBCache (Dual Block Cache), optionally with its TaylorSeer calibrator.

DBCache always computes the first ``Fn`` blocks, compares their residual with the previous
step's (relative L1 against ``residual_diff_threshold``) and, when close, skips the middle
blocks and reuses their cached residual; the last ``Bn`` blocks always run to correct the
approximation. No caching happens during the first ``max_warmup_steps`` steps.

Telemetry comes from cache-dit's own statistics: after each transformer call we read its
list of cached steps for the call under way, and count the step as skipped when that list
grew; the telemetry file also carries ``cache_dit.summary`` of the last image.

cache-dit patches ``FluxPipeline.__call__`` on the class; the worker-per-variant isolation
keeps that inside one variant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalsuite.accelerators.base import (
    ORDER_CACHE,
    Accelerator,
    Applied,
    ModelFamily,
    Param,
    StepCounter,
    register,
    unchecked,
)


def cached_steps(transformer: Any) -> list[int] | None:
    """Steps cache-dit has served from cache so far in the pipeline call under way.

    cache-dit copies its stats onto the module (what ``cache_dit.summary`` reads) only when
    the pipeline call returns, so during the call we ask its context manager, the source of
    those stats.
    """
    manager = getattr(transformer, "_context_manager", None)
    if manager is None or getattr(manager, "_current_context", None) is None:
        return None
    return list(manager.get_cached_steps())


def count_with_summary(transformer: Any, counter: StepCounter) -> None:
    """Record each transformer call as computed or cached, from cache-dit's stats."""
    seen = [0]

    def after_call(_module: Any, _args: Any, _output: Any) -> None:
        steps = cached_steps(transformer)
        n = len(steps) if steps is not None else 0
        if n < seen[0]:  # a new pipeline call reset cache-dit's stats; its first step computes
            seen[0] = 0
        counter.record(n == seen[0])
        seen[0] = n

    transformer.register_forward_hook(after_call)


@register
class CacheDiTDBCache(Accelerator):
    """cache-dit DBCache (F{Fn}B{Bn}) with an optional TaylorSeer calibrator."""

    name = "cache_dit"
    deprecated_names = ("cache-dit",)
    family = "cache"
    order = ORDER_CACHE
    description = (
        "cache-dit DBCache: always compute the first Fn and last Bn blocks, skip the middle "
        "while the Fn residual changes less than the threshold; optional TaylorSeer calibrator"
    )
    params = {
        "Fn_compute_blocks": Param(int, 8, "leading blocks always computed (must be fewer than the "
                                   "model's double blocks)", min=1, max=64),
        "Bn_compute_blocks": Param(int, 0, "trailing blocks always computed", min=0, max=64),
        "residual_diff_threshold": Param(float, 0.08, "relative-L1 change of the Fn residual below "
                                         "which the middle blocks are skipped; 0 never skips", min=0.0),
        "max_warmup_steps": Param(int, 8, "initial steps never cached", min=0),
        "warmup_interval": Param(int, 1, "compute every k-th step during warm-up", min=1),
        "max_cached_steps": Param(int, -1, "most cached steps per image; -1 = unlimited", min=-1),
        "max_continuous_cached_steps": Param(int, -1, "most consecutive cached steps; -1 = unlimited",
                                             min=-1),
        "taylorseer": Param(bool, False, "TaylorSeer calibrator: extrapolate the cached residual "
                            "instead of reusing it"),
        "taylorseer_order": Param(int, 1, "order of the TaylorSeer calibrator", min=1, max=4),
    }

    def supports(self, family: ModelFamily, params: Mapping[str, Any]) -> str | None:
        if (why := unchecked(family, "cache-dit")) is not None:
            return why
        if family.cache_dit:
            return None
        return f"cache-dit 1.5.3 has no block adapter for {family.title}'s pipeline"

    def check_environment(self, params: Mapping[str, Any], env: Any) -> None:
        import importlib.util

        if importlib.util.find_spec("cache_dit") is None:
            raise ValueError("needs the cache-dit package (pip install cache-dit==1.5.3)")

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        import logging
        import os

        # cache-dit logs a dozen INFO lines per enable; it reads its level once, at import.
        os.environ.setdefault("CACHE_DIT_LOG_LEVEL", "warning")
        import cache_dit

        logging.getLogger("cache_dit").setLevel(logging.WARNING)

        # cache-dit counts Fn in the first block list its adapter hooks (FLUX.1's double blocks).
        lists = (self.model_family.block_lists(pipe.transformer) if self.model_family is not None
                 else (("transformer_blocks", getattr(pipe.transformer, "transformer_blocks", ())),))
        name, first = lists[0] if lists else ("blocks", ())
        if len(first) and params["Fn_compute_blocks"] >= len(first):
            raise ValueError(f"cache-dit.Fn_compute_blocks={params['Fn_compute_blocks']} must be below "
                             f"the transformer's {len(first)} {name} (cache-dit fails otherwise)")
        calibrator = None
        if params["taylorseer"]:
            calibrator = cache_dit.TaylorSeerCalibratorConfig(taylorseer_order=params["taylorseer_order"])
        cache_dit.enable_cache(pipe, cache_config=cache_dit.DBCacheConfig(
            Fn_compute_blocks=params["Fn_compute_blocks"], Bn_compute_blocks=params["Bn_compute_blocks"],
            residual_diff_threshold=params["residual_diff_threshold"],
            max_warmup_steps=params["max_warmup_steps"], warmup_interval=params["warmup_interval"],
            max_cached_steps=params["max_cached_steps"],
            max_continuous_cached_steps=params["max_continuous_cached_steps"],
        ), calibrator_config=calibrator)
        counter = StepCounter()
        count_with_summary(pipe.transformer, counter)
        return CacheDiTApplied(counter=counter, notes={"cache_dit_version": _version()},
                               transformer=pipe.transformer)


class CacheDiTApplied(Applied):
    """Adds cache-dit's own summary of the last image to the telemetry."""

    def __init__(self, counter: StepCounter, notes: dict[str, Any], transformer: Any) -> None:
        super().__init__(counter=counter, notes=notes)
        self.transformer = transformer

    def telemetry(self) -> dict[str, Any]:
        import cache_dit

        stats = [s for s in cache_dit.summary(self.transformer, logging=False) if s.cache_options]
        if stats:
            s = stats[0]
            return {**self.notes, "cache_options": str(s.cache_options),
                    "last_image_cached_steps": list(s.cached_steps)}
        return dict(self.notes)


def _version() -> str:
    from importlib.metadata import version

    return version("cache-dit")
