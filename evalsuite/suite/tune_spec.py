"""The suite's ``[tune]`` table: what ``evalsuite tune`` searches, against which budgets.

```toml
[tune]
accelerator = "fbcache"        # the accelerator whose parameter is searched
parameter = "threshold"
range = [0.0, 0.4]             # probes lie on the grid lo, lo + step, ..., hi
step = 0.02
fixed = { torchao = { mode = "float8wo" } }   # companions applied with every probe
objective = "latency"          # or "cost"; default: [report] objective
confidence = 0.95              # two-sided CI level; its pessimistic end meets each budget
first_prompts = 16             # prompts at a probe's first look; doubles while undecided
max_prompts = 64               # the largest prompt count per probe
holdout = 16                   # prompts the search never sees, to confirm the winner on
speed_prompts = 8              # search prompts of the speed trial (baseline and winner in turns)
confirm = { steps = [20, 50] } # optional: certify at these settings too (each combination)
calibration = "calibration.json"  # optional: the searched cache's numbers from `evalsuite calibrate`
fewer_steps = true             # compare the winner with the baseline at fewer steps (holdout prompts)
[[tune.budget]]                # default: the suite's [[report.budget]] tables
metric = "ssim"
max_drop = 0.01
```
Validated like the rest of the suite: one line naming the file and the key.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalsuite.accelerators import ACCELERATORS
from evalsuite.errors import spec_error
from evalsuite.suite.build import given_params, is_sweep
from evalsuite.suite.calibration_ref import calibrated_params
from evalsuite.suite.overrides import GENERATION_KEYS, check_override
from evalsuite.suite.report_spec import ReportSpec, budget_table, parse_budgets
from evalsuite.suite.types import ModelSpec
from reports.records import Budget

MAX_GRID_POINTS = 1001  # a finer grid than this is a typo, not a search
_KEYS = ("accelerator", "parameter", "range", "step", "fixed", "objective", "confidence",
         "first_prompts", "max_prompts", "holdout", "speed_prompts", "confirm", "fewer_steps", "budget",
         "calibration")


@dataclass(frozen=True, kw_only=True)
class TuneSpec:
    """A validated ``[tune]`` table (budgets and objective resolved against ``[report]``)."""

    accelerator: str
    parameter: str
    lo: float
    hi: float
    step: float
    fixed: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]  # companion -> sorted params
    budgets: tuple[Budget, ...]
    objective: str = "latency"
    confidence: float = 0.95
    first_prompts: int = 16
    max_prompts: int | None = None  # None: every prompt not held out
    holdout: int = 16
    integer: bool = False  # the parameter takes whole numbers
    confirm: tuple[tuple[tuple[str, Any], ...], ...] = ()  # other settings to certify at
    fewer_steps: bool = True  # compare the winner with the baseline at fewer steps
    speed_prompts: int = 8  # search prompts the speed trial times (baseline and winner in turns)
    # The searched technique's numbers from `evalsuite calibrate` (``calibration = "..."``).
    calibrated: tuple[tuple[str, Any], ...] = ()

    @property
    def n_points(self) -> int:
        """Grid points from ``lo`` to ``hi`` inclusive."""
        return int(round((self.hi - self.lo) / self.step)) + 1

    def value(self, index: int) -> float | int:
        """The parameter's value at a grid index (rounded so names and ids stay stable)."""
        v = min(self.lo + index * self.step, self.hi)
        return int(round(v)) if self.integer else round(v, 10)

    def companions(self) -> dict[str, dict[str, Any]]:
        """Fixed companions as a variant table would write them."""
        return {name: dict(params) for name, params in self.fixed}


def tune_dict(t: TuneSpec) -> dict[str, Any]:
    """The ``[tune]`` table as a suite file writes it."""
    out: dict[str, Any] = {
        "accelerator": t.accelerator, "parameter": t.parameter, "range": [t.lo, t.hi],
        "step": t.step, "objective": t.objective, "confidence": t.confidence,
        "first_prompts": t.first_prompts, "holdout": t.holdout, "speed_prompts": t.speed_prompts,
        "budget": [budget_table(b) for b in t.budgets],
        "fewer_steps": t.fewer_steps,
    }
    if t.fixed:
        out["fixed"] = t.companions()
    if t.max_prompts is not None:
        out["max_prompts"] = t.max_prompts
    if t.calibrated:  # written out: the resolved suite holds the numbers, not the file's path
        out["calibrated"] = dict(t.calibrated)
    if t.confirm:
        keys = dict.fromkeys(k for setting in t.confirm for k, _ in setting)
        out["confirm"] = {k: sorted({dict(c)[k] for c in t.confirm}) for k in keys}
    return out


def _confirm(source: str, raw: Any) -> tuple[tuple[tuple[str, Any], ...], ...]:
    """``confirm = { steps = [20, 50], height = [768] }``: every combination, checked apart."""
    if not isinstance(raw, dict):
        raise spec_error(source, "tune.confirm",
                         "expected a table such as { steps = [20, 50], height = [768] }")
    axes = []
    for key, values in raw.items():
        if key not in GENERATION_KEYS:
            raise spec_error(source, f"tune.confirm.{key}",
                             f"unknown setting (known: {', '.join(GENERATION_KEYS)})")
        values = values if isinstance(values, list) else [values]
        if not values:
            raise spec_error(source, f"tune.confirm.{key}", "empty list")
        try:
            axes.append([(key, check_override(key, v)) for v in values])
        except ValueError as exc:
            raise spec_error(source, f"tune.confirm.{key}", str(exc)) from None
    return tuple(tuple(combo) for combo in itertools.product(*axes)) if axes else ()


def _number(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise spec_error(source, f"tune.{key}", f"expected a finite number, got {value!r}")
    return float(value)


def _count(source: str, key: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise spec_error(source, f"tune.{key}", f"expected a whole number >= {least}, got {value!r}")
    return value


def _search(source: str, table: Mapping[str, Any]) -> tuple[str, str, float, float, float, bool]:
    acc = table.get("accelerator")
    if not isinstance(acc, str) or acc not in ACCELERATORS:
        raise spec_error(source, "tune.accelerator",
                         f"expected one of {', '.join(ACCELERATORS.names())}, got {acc!r}")
    schema = ACCELERATORS.get(acc).params
    param = table.get("parameter")
    numeric = [k for k, p in schema.items() if p.type in (int, float)]
    if param not in numeric:
        raise spec_error(source, "tune.parameter", f"expected a numeric parameter of {acc} "
                         f"({', '.join(numeric) or 'it has none'}), got {param!r}")
    rng = table.get("range")
    if not isinstance(rng, list) or len(rng) != 2:
        raise spec_error(source, "tune.range", "expected [low, high]")
    lo, hi = (_number(source, "range", x) for x in rng)
    for end in (lo, hi):
        try:
            schema[param].validate(param, int(end) if schema[param].type is int else end)
        except ValueError as exc:
            raise spec_error(source, "tune.range", str(exc)) from None
    if not lo < hi:
        raise spec_error(source, "tune.range", f"low {lo:g} must be below high {hi:g}")
    step = _number(source, "step", table.get("step", (hi - lo) / 20))
    integer = schema[param].type is int
    if step <= 0 or (integer and step != int(step)):
        raise spec_error(source, "tune.step",
                         f"expected a positive {'whole ' if integer else ''}number, got {step:g}")
    points = (hi - lo) / step
    if points < 1 - 1e-6:
        raise spec_error(source, "tune.step",
                         f"{step:g} is larger than the range {lo:g}..{hi:g}: it makes zero steps")
    if abs(points - round(points)) > 1e-6 or round(points) >= MAX_GRID_POINTS:
        raise spec_error(source, "tune.step", f"{step:g} must divide the range {lo:g}..{hi:g} into at most "
                         f"{MAX_GRID_POINTS - 1} whole steps")
    return acc, str(param), lo, hi, step, integer


def _fixed(source: str, raw: Any, searched: str) -> tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]:
    if not isinstance(raw, dict):
        raise spec_error(source, "tune.fixed", "expected a table of accelerator tables")
    out = []
    for name, params in sorted(raw.items()):
        if name not in ACCELERATORS:
            raise spec_error(source, f"tune.fixed.{name}",
                             f"unknown accelerator (known: {', '.join(ACCELERATORS.names())})")
        if name == searched:
            raise spec_error(source, f"tune.fixed.{name}", "is the searched accelerator; set its other "
                             "parameters here under a different accelerator, or drop it")
        params = given_params(source, "tune.fixed", name, params)
        for key, value in params.items():
            if is_sweep(name, key, value):
                raise spec_error(source, f"tune.fixed.{name}.{key}",
                                 "a companion is fixed: give one value, not a sweep")
        out.append((name, tuple(sorted(params.items()))))
    return tuple(out)


def parse_tune(source: str, table: Mapping[str, Any], used: set[str], report: ReportSpec,
               model: ModelSpec | None = None, base_dir: Path | None = None) -> TuneSpec:
    """Validate ``[tune]``; budgets and objective default to the ``[report]`` table's.

    ``model`` and ``base_dir`` (the suite's ``[model]`` and folder) read ``calibration``.
    """
    for key in table:
        if key not in (*_KEYS, "calibrated"):
            raise spec_error(source, f"tune.{key}", f"unknown key (known: {', '.join(_KEYS)})")
    acc, param, lo, hi, step, integer = _search(source, table)
    fixed = _fixed(source, table.get("fixed", {}), acc)
    budgets = (parse_budgets(source, table["budget"], used, "tune.budget") if "budget" in table
               else report.budgets)
    if not budgets:
        raise spec_error(source, "tune.budget",
                         "no budget: add [[tune.budget]] (or [[report.budget]]) tables")
    from metrics import SCORERS

    for i, b in enumerate(budgets):
        if str(SCORERS.get(b.metric).kind) == "set":
            raise spec_error(source, f"tune.budget[{i}].metric", f"{b.metric} is a set-level metric: it has "
                             "no per-image values, so no CI to grow a probe on")
    objective = table.get("objective", report.objective)
    if objective not in ("latency", "cost"):
        raise spec_error(source, "tune.objective", f"expected \"latency\" or \"cost\", got {objective!r}")
    confidence = _number(source, "confidence", table.get("confidence", 0.95))
    if not 0.5 <= confidence < 1.0:
        raise spec_error(source, "tune.confidence", f"expected a level in [0.5, 1), got {confidence:g}")
    first = _count(source, "first_prompts", table.get("first_prompts", 16), 2)
    largest = table.get("max_prompts")
    if largest is not None and _count(source, "max_prompts", largest, 2) < first:
        raise spec_error(source, "tune.max_prompts", f"{largest} is below first_prompts ({first})")
    holdout = _count(source, "holdout", table.get("holdout", 16), 2)
    speed = _count(source, "speed_prompts", table.get("speed_prompts", 8), 2)
    confirm = _confirm(source, table.get("confirm", {}))
    fewer = table.get("fewer_steps", True)
    if not isinstance(fewer, bool):
        raise spec_error(source, "tune.fewer_steps", f"expected a boolean, got {type(fewer).__name__}")
    calibrated = _calibrated(source, table, acc, model, base_dir)
    return TuneSpec(accelerator=acc, parameter=param, lo=lo, hi=hi, step=step, fixed=fixed,
                    budgets=budgets, objective=str(objective), confidence=confidence,
                    first_prompts=first, max_prompts=largest, holdout=holdout, integer=integer,
                    confirm=confirm, fewer_steps=fewer, speed_prompts=speed, calibrated=calibrated)


def _calibrated(source: str, table: Mapping[str, Any], acc: str, model: ModelSpec | None,
                base_dir: Path | None) -> tuple[tuple[str, Any], ...]:
    """The searched technique's numbers: from ``calibration`` (identity and trust checked), or
    as a resolved suite wrote them (``calibrated``)."""
    if "calibrated" in table:
        given = table["calibrated"]
        if not isinstance(given, dict):
            raise spec_error(source, "tune.calibrated", "expected a table of the searched cache's numbers")
        return tuple(sorted(given_params(source, "tune", acc, given).items()))
    if "calibration" not in table:
        return ()
    if model is None or base_dir is None:
        raise spec_error(source, "tune.calibration", "needs the suite's model to check the file against")
    params = calibrated_params(source, "tune.calibration", table["calibration"], base_dir, model, {acc: {}})
    return tuple(sorted(params[acc].items()))
