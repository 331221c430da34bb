"""diffusers' MagCache (``MagCacheConfig``) with the FLUX magnitude ratios diffusers ships.

MagCache skips the transformer's blocks while the accumulated error predicted from
per-step residual magnitude ratios stays below ``threshold`` (at most ``max_skip_steps`` in a
row, never during the first ``retention_ratio`` of the steps). The ratios are
checkpoint-specific: diffusers ships FLUX.1-dev's. For another model:

* ``mag_ratios = "calibrate"`` measures them on the baseline model (diffusers' own calibration
  pass, on the run's first trace images) before the variant's first image, then skips with them
  (``evalsuite.models.calibration``; the table and its spread go to summary.json);
* ``calibrate = true`` is a measuring run: it skips nothing and reports the ratios in its
  telemetry;
* ``mag_ratios = [...]`` runs with a table measured before.

MagCache interpolates the ratios to the number of denoising steps and resets its state when
that count is reached, so its config must know the step count; we read it from the pipeline
(``_num_timesteps``) at the start of each transformer call rather than asking the suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from evalsuite.accelerators._hooks import count_first_hook, find_hooks, num_steps
from evalsuite.accelerators.base import (
    CALIBRATE,
    ORDER_CACHE,
    Accelerator,
    Applied,
    ModelFamily,
    Param,
    expert_counters,
    register,
    step_ranges,
    transformers_of,
    unhookable,
    unresolved,
)


@dataclass
class MagCacheApplied(Applied):
    """Calibration runs skip nothing by design: report the ratios instead of "inert"."""

    calibrate: bool = False
    ratios: list[float] = field(default_factory=list)

    def check(self) -> str | None:
        if self.calibrate:
            return None if self.ratios else "calibration recorded no magnitude ratio"
        return super().check()

    def telemetry(self) -> dict[str, Any]:
        return {**self.notes, **({"calibration_ratios": self.ratios} if self.calibrate else {})}


@register
class DiffusersMagCache(Accelerator):
    """MagCache as shipped in diffusers' hooks."""

    name = "magcache"
    family = "cache"
    order = ORDER_CACHE
    description = (
        "diffusers MagCache: skip the blocks while the error accumulated from FLUX's residual "
        "magnitude ratios stays below `threshold`; calibrate=true measures the ratios instead"
    )
    params = {
        "threshold": Param(float, 0.06, "accumulated-error budget; 0 never skips", min=0.0),
        "max_skip_steps": Param(int, 3, "most consecutive skipped steps (K)", min=0, max=100),
        "retention_ratio": Param(float, 0.2, "fraction of initial steps never skipped",
                                 min=0.0, max=1.0),
        "calibrate": Param(bool, False, "measure this model's ratios (no skipping); they appear "
                           "in the variant's telemetry"),
        "mag_ratios": Param(list, [], "this model's per-step magnitude ratios; \"calibrate\" = "
                            "measure them on the baseline model before the variant runs; empty = "
                            "diffusers' FLUX.1-dev table (FLUX.1 only)", literals=(CALIBRATE,)),
    }

    def supports(self, family: ModelFamily, params: Mapping[str, Any]) -> str | None:
        if (why := unhookable(family, "MagCache")) is not None:
            return why
        if params.get("calibrate") or params.get("mag_ratios") or self.name in family.calibrated:
            return None
        return (f"MagCache needs {family.title}'s magnitude ratios (diffusers ships FLUX.1's only): "
                'mag_ratios = "calibrate" measures them before the variant runs, or give mag_ratios = [...]')

    def check_environment(self, params: Mapping[str, Any], env: Any) -> None:
        ratios = params["mag_ratios"]
        if ratios == CALIBRATE:
            if params["calibrate"]:
                raise ValueError('mag_ratios = "calibrate" measures the ratios and then skips with them; '
                                 "calibrate = true only measures: set one of them")
            return
        if not all(isinstance(r, int | float) and not isinstance(r, bool) and r > 0 for r in ratios):
            raise ValueError("mag_ratios: expected a list of positive numbers")
        if ratios and len(ratios) < 2:
            raise ValueError("mag_ratios: expected one ratio per step (at least 2)")

    def skips_steps(self, params: Mapping[str, Any]) -> bool:
        return not params.get("calibrate", False)  # a calibration run measures, never skips

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        import torch
        from diffusers import MagCacheConfig
        from diffusers.hooks.mag_cache import FLUX_MAG_RATIOS, MagCacheBlockHook, MagCacheHeadHook

        calibrate = params["calibrate"]
        own = params["mag_ratios"]
        if own == CALIBRATE:
            raise ValueError(unresolved("magcache.mag_ratios"))
        table = torch.tensor([float(r) for r in own]) if own else FLUX_MAG_RATIOS
        # diffusers skips while `error <= threshold`; FLUX's table has steps whose ratio is
        # exactly 1.0 (zero error), so a literal 0 would still skip them. Our 0 means "never",
        # as for every other cache; any positive threshold is passed through unchanged.
        threshold = params["threshold"] if params["threshold"] > 0 else -1.0
        config = MagCacheConfig(
            threshold=threshold, max_skip_steps=params["max_skip_steps"],
            retention_ratio=params["retention_ratio"], num_inference_steps=len(table),
            mag_ratios=None if calibrate else table, calibrate=calibrate,
        )

        named = transformers_of(self.model_family, pipe)
        counter, experts = expert_counters(named)
        source = "calibrating" if calibrate else ("suite" if params["mag_ratios"] else "FLUX (diffusers)")
        applied = MagCacheApplied(counter=counter, calibrate=calibrate, notes={"mag_ratios": source},
                                  experts=experts if len(named) > 1 else {})
        sinks: dict[str, list[float]] = {}
        for name, transformer in named.items():
            # Each expert (Wan 2.2) gets its own config: its share of the steps and its slice of
            # the per-step table, and counts its own steps from 0 as MagCache does.
            expert = replace(config) if len(named) > 1 else config
            transformer.register_forward_pre_hook(self._sync(pipe, name, expert, table, calibrate))
            transformer.enable_cache(expert)
            count_first_hook(transformer, MagCacheHeadHook, experts[name])
            if calibrate:
                sinks[name] = []
                _capture_ratios(find_hooks(transformer, MagCacheBlockHook), sinks[name],
                                applied.ratios, sinks)
        return applied

    def _sync(self, pipe: Any, name: str, config: Any, table: Any, calibrate: bool) -> Any:
        """A pre-hook keeping ``config`` at the steps the call under way gives transformer ``name``."""
        from diffusers.hooks.mag_cache import nearest_interp

        def sync_steps(_module: Any, _args: Any) -> None:
            n = num_steps(pipe)
            if n is None:
                return
            steps = step_ranges(self.model_family, pipe, n).get(name, range(n))
            if len(steps) != config.num_inference_steps:
                config.num_inference_steps = len(steps)
                if not calibrate:  # the clip's per-step table, this expert's slice of it
                    config.mag_ratios = nearest_interp(table, n)[steps.start:steps.stop]

        return sync_steps


def _capture_ratios(block_hooks: list[tuple[str, Any]], sink: list[float], table: list[float],
                    experts: dict[str, list[float]]) -> None:
    """Keep a copy of the tail hook's ratios as they are measured (it clears them per image) in
    ``sink``, and the clip's table (every expert's, in step order) in ``table``."""
    tails = [hook for _, hook in block_hooks if hook.is_tail]
    if len(tails) != 1:
        raise RuntimeError(f"expected one MagCache tail hook, found {len(tails)}")
    tail = tails[0]
    measure = tail._perform_calibration_step

    def captured(state: Any, residual: Any) -> None:
        measure(state, residual)
        sink[:] = list(state.calibration_ratios)
        table[:] = [r for ratios in experts.values() for r in ratios]

    tail._perform_calibration_step = captured
