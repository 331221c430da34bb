"""Per-model cache numbers fitted in the run, before the variant generates (``"calibrate"``).

TeaCache's rescale polynomial and MagCache's magnitude ratios belong to one checkpoint;
evalsuite ships FLUX.1-dev's. A variant that writes ``teacache = { coefficients = "calibrate" }``
or ``magcache = { mag_ratios = "calibrate" }`` gets its own, measured in its worker on the
baseline model (the pipeline as loaded, before any technique is applied) over the run's first
trace images, the same (prompt, seed) items the baseline's trace step records:

* TeaCache: the baseline's decision traces (``evalsuite.models.tracing.Tracer``), refitted by
  ``reports.calibration.fit_teacache`` (degree 4, with R² and the fitted range). The report's
  calibration section fits the same traces of the same images, so the numbers agree;
* MagCache: diffusers' own calibration pass (``MagCacheConfig(calibrate=True)``) on each image,
  averaged per step, with the largest relative spread across images.

The measuring images are generated untimed, before the warm-up. The fitted numbers replace
"calibrate" in the parameters the technique is applied with, and the fit's record goes into
the variant's telemetry (``accelerators.<name>.calibration``), whence summary.json
(``variants[].calibration``), the report's "Per-model numbers fitted in the run" and
``recommend --json`` (the picked variant's ``calibration``).
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from evalsuite.accelerators.base import to_calibrate, transformers_of
from evalsuite.suite.types import AcceleratorUse
from reports.calibration import fit_teacache


def wants_calibration(accelerator: str, params: Mapping[str, Any]) -> bool:
    """Whether ``accelerator`` with ``params`` asks for numbers fitted on this model."""
    return to_calibrate(accelerator, params) is not None


def variant_wants_calibration(uses: Sequence[AcceleratorUse]) -> bool:
    """Whether any technique of a variant asks for numbers fitted on its model."""
    return any(wants_calibration(u.name, dict(u.params)) for u in uses)


@dataclass(frozen=True)
class Resolved:
    """A variant's techniques with every "calibrate" replaced, and what each fit found."""

    uses: tuple[AcceleratorUse, ...]
    records: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # accelerator -> fit


def resolve_uses(pipe: Any, model: Any, family: Any, uses: Sequence[AcceleratorUse],
                 items: Sequence[tuple[str, str, int]], device: str) -> Resolved:
    """Fit what ``uses`` ask to calibrate on ``pipe`` (no technique applied yet) over ``items``
    ((prompt id, text, seed)); the others pass through unchanged.

    Raises:
        ValueError: no item to measure on, or the fit failed (the reason names it).
    """
    out, records = [], {}
    for use in uses:
        params = dict(use.params)
        if (key := to_calibrate(use.name, params)) is not None:
            if not items:
                raise ValueError(f"{use.name}: calibrate needs at least one image to measure on")
            if use.name == "teacache":
                values, record = _fit_teacache(pipe, model, family, items, device)
            else:
                values, record = _measure_magcache(pipe, model, family, params, items, device)
            params[key] = values
            records[use.name] = record
            use = replace(use, params=tuple(params.items()))
        out.append(use)
    return Resolved(tuple(out), records)


def _fit_teacache(pipe: Any, model: Any, family: Any, items: Sequence[tuple[str, str, int]],
                  device: str) -> tuple[list[float], dict[str, Any]]:
    from evalsuite.models.tracing import trace_images

    try:
        fit = fit_teacache(trace_images(pipe, model, family, items, device))
    except (KeyError, ValueError) as exc:
        raise ValueError(f"teacache: fitting the rescale polynomial on the baseline's traces failed: "
                         f"{exc}") from None
    return list(fit.coefficients), {
        "source": "baseline traces, refitted", "n_images": len(items), "coefficients": list(fit.coefficients),
        "r2": fit.r2, "n_points": fit.n_points, "x_range": list(fit.x_range)}


def _measure_magcache(pipe: Any, model: Any, family: Any, params: Mapping[str, Any],
                      items: Sequence[tuple[str, str, int]], device: str
                      ) -> tuple[list[float], dict[str, Any]]:
    import numpy as np

    from evalsuite.accelerators import ACCELERATORS
    from evalsuite.models.pipeline import generate

    measuring = {**params, "calibrate": True, "mag_ratios": []}  # diffusers' calibration mode
    applied = ACCELERATORS.get("magcache")(family).apply(pipe, measuring)
    per_image = []
    try:
        for _, text, seed in items:
            with contextlib.redirect_stdout(io.StringIO()):  # diffusers prints each table it measures
                generate(pipe, model, device, text, seed, family)
            per_image.append(list(applied.ratios))  # type: ignore[attr-defined]
    finally:
        for transformer in transformers_of(family, pipe).values():  # Wan 2.2: both experts
            transformer.disable_cache()
    if {len(r) for r in per_image} != {model.steps}:
        raise ValueError(f"magcache: the calibration pass measured {sorted({len(r) for r in per_image})} "
                         f"ratios per image for {model.steps} steps")
    table = np.asarray(per_image, dtype=float)
    mean = table.mean(axis=0)
    spread = float(np.max(table.std(axis=0) / np.abs(mean))) if len(per_image) > 1 else math.nan
    ratios = [float(v) for v in mean]
    return ratios, {"source": "diffusers MagCache calibration pass", "n_images": len(items),
                    "mag_ratios": ratios, "max_relative_sd": spread}


def calibrate_in_process(accelerator: str, params: Mapping[str, Any], pipe: Any, model: Any, family: Any,
                         prompts: Sequence[str]) -> dict[str, Any]:
    """``params`` with "calibrate" fitted on ``prompts`` (seed 0) here (the support matrix)."""
    use = AcceleratorUse(accelerator, tuple(params.items()))
    items = [(f"p{i}", text, 0) for i, text in enumerate(prompts)]
    return dict(resolve_uses(pipe, model, family, [use], items, "cpu").uses[0].params)
