"""The suite's ``[calibrate]`` table: what ``evalsuite calibrate SUITE`` fits, on how many prompts.

```toml
[calibrate]
caches = ["teacache", "magcache", "fbcache"]  # fitted: teacache, magcache; curve only: the others
prompts = 16            # prompts traced (each with every seed of [prompts]), in the suite's order
holdout = 4             # of those, the last ones, held out of the fit to judge it
skip_rates = [0.25, 0.5]  # predicted skip rates at which thresholds are placed and measured
min_r2 = 0.8            # held-out R²'s lower 95% bound a fit must reach to be trusted
transfer = [{ steps = 20 }, { torchao = { mode = "int8wo" } }]  # --check-transfer (default: [tune] confirm)
[calibrate.params]      # a cache's other parameters, as a [[variant]] writes them
magcache = { max_skip_steps = 2 }
```
Validated like the rest of the suite: one line naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalsuite.accelerators import ACCELERATORS
from evalsuite.errors import spec_error
from evalsuite.suite.build import given_params
from evalsuite.suite.overrides import GENERATION_KEYS, check_override
from reports.calibrate_fit import FITTED, MIN_FIT_PROMPTS, MIN_HOLDOUT_PROMPTS
from reports.traces import THRESHOLD_PARAM

Params = tuple[tuple[str, Any], ...]
_KEYS = ("caches", "prompts", "holdout", "skip_rates", "min_r2", "transfer", "params")


@dataclass(frozen=True, kw_only=True)
class CalibrateSpec:
    """A validated ``[calibrate]`` table (or the command's flags)."""

    caches: tuple[str, ...]
    prompts: int = 16
    holdout: int = 4
    skip_rates: tuple[float, ...] = (0.25, 0.5)
    min_r2: float = 0.8
    params: tuple[tuple[str, Params], ...] = ()  # cache -> its other parameters, as given
    transfer: tuple[Params, ...] = ()  # settings (generation keys or a technique's table)

    def given(self, cache: str) -> dict[str, Any]:
        """The parameters ``[calibrate.params]`` gives ``cache``."""
        return dict(dict(self.params).get(cache, ()))


def nothing_to_calibrate(name: str) -> str | None:
    """Why accelerator ``name`` cannot be calibrated, or None."""
    if name in THRESHOLD_PARAM:
        return None
    fitted = ", ".join(FITTED)
    curves = ", ".join(n for n in THRESHOLD_PARAM if n not in FITTED)
    return (f"{name} has nothing to calibrate (calibrate fits {fitted} and measures the threshold -> "
            f"skip-rate curve of {curves})")


def check_counts(source: str, prompts: int, holdout: int, available: int | None = None) -> None:
    """Enough prompts to fit and to judge the fit (and, given ``available``, in the suite)."""
    if holdout < MIN_HOLDOUT_PROMPTS:
        raise spec_error(source, "calibrate.holdout", f"{holdout} held-out prompts give no interval: "
                         f"hold out at least {MIN_HOLDOUT_PROMPTS}")
    if prompts < holdout + MIN_FIT_PROMPTS:
        raise spec_error(source, "calibrate.prompts", f"{prompts} prompts with {holdout} held out leave "
                         f"{prompts - holdout} to fit on; the fit needs at least {MIN_FIT_PROMPTS} "
                         f"(prompts >= holdout + {MIN_FIT_PROMPTS})")
    if available is not None and available < prompts:
        raise spec_error(source, "calibrate.prompts", f"asks for {prompts} prompts and [prompts] "
                         f"selects {available}: add prompts or lower calibrate.prompts")


def _caches(source: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) for c in raw):
        raise spec_error(source, "calibrate.caches", "expected a list of cache names, e.g. [\"teacache\"]")
    out = []
    for written in raw:
        try:
            name = ACCELERATORS.resolve(written, where=f"{source}: calibrate.caches")
        except KeyError:
            raise spec_error(source, "calibrate.caches", f"unknown accelerator {written!r} "
                             f"(known: {', '.join(ACCELERATORS.names())})") from None
        if (why := nothing_to_calibrate(name)) is not None:
            raise spec_error(source, "calibrate.caches", why)
        if name in out:
            raise spec_error(source, "calibrate.caches", f"{name} is listed twice")
        out.append(name)
    return tuple(out)


def _params(source: str, raw: Any, caches: Sequence[str]) -> tuple[tuple[str, Params], ...]:
    if not isinstance(raw, dict):
        raise spec_error(source, "calibrate.params", "expected a table of cache tables")
    if stray := sorted(set(raw) - set(caches)):
        raise spec_error(source, f"calibrate.params.{stray[0]}",
                         f"not a calibrated cache ({', '.join(caches)})")
    return tuple((name, _checked(source, name, given_params(source, "calibrate.params", name, raw[name])))
                 for name in sorted(raw))


def _checked(source: str, cache: str, params: Mapping[str, Any]) -> Params:
    """``params`` of ``cache`` validated one by one (the fitted one may not be given)."""
    schema, out = ACCELERATORS.get(cache).params, {}
    for key, value in params.items():
        where = f"calibrate.params.{cache}.{key}"
        if key == FITTED.get(cache):
            raise spec_error(source, where, "is what calibrate fits")
        try:
            out[key] = schema[key].validate(key, value)
        except ValueError as exc:
            raise spec_error(source, where, str(exc).split(": ", 1)[1]) from None
    return tuple(sorted(out.items()))


def _transfer(source: str, raw: Any) -> tuple[Params, ...]:
    if not isinstance(raw, list) or not all(isinstance(s, dict) and s for s in raw):
        raise spec_error(source, "calibrate.transfer", "expected a list of settings, e.g. "
                         "[{ steps = 20 }, { torchao = { mode = \"int8wo\" } }]")
    out = []
    for i, setting in enumerate(raw):
        where = f"calibrate.transfer[{i}]"
        checked: dict[str, Any] = {}
        for key, value in setting.items():
            if key in GENERATION_KEYS:
                try:
                    checked[key] = check_override(key, value)
                except ValueError as exc:
                    raise spec_error(source, f"{where}.{key}", str(exc)) from None
            elif key in ACCELERATORS and ACCELERATORS.get(key).family not in ("cache",):
                checked[key] = given_params(source, where, key, value)
            else:
                raise spec_error(source, f"{where}.{key}", f"expected one of {', '.join(GENERATION_KEYS)} "
                                 "or a technique that is not a cache (quantization, compile, ...)")
        out.append(tuple(sorted(checked.items())))
    return tuple(out)


def _fraction(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise spec_error(source, f"calibrate.{key}", f"expected a number between 0 and 1, got {value!r}")
    return float(value)


def _count(source: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise spec_error(source, f"calibrate.{key}", f"expected a whole number >= 1, got {value!r}")
    return value


def parse_calibrate(source: str, table: Mapping[str, Any], confirm: Sequence[Params] = ()) -> CalibrateSpec:
    """Validate ``[calibrate]``; ``transfer`` defaults to the ``[tune]`` table's ``confirm`` settings."""
    for key in table:
        if key not in _KEYS:
            raise spec_error(source, f"calibrate.{key}", f"unknown key (known: {', '.join(_KEYS)})")
    caches = _caches(source, table.get("caches", ["teacache", "magcache"]))
    prompts = _count(source, "prompts", table.get("prompts", 16))
    holdout = _count(source, "holdout", table.get("holdout", 4))
    check_counts(source, prompts, holdout)
    rates = table.get("skip_rates", [0.25, 0.5])
    if not isinstance(rates, list) or not rates:
        raise spec_error(source, "calibrate.skip_rates", "expected a list of skip rates, e.g. [0.25, 0.5]")
    return CalibrateSpec(
        caches=caches, prompts=prompts, holdout=holdout,
        skip_rates=tuple(sorted(_fraction(source, "skip_rates", r) for r in rates)),
        min_r2=_fraction(source, "min_r2", table.get("min_r2", 0.8)),
        params=_params(source, table.get("params", {}), caches),
        transfer=_transfer(source, table["transfer"]) if "transfer" in table else tuple(confirm))


def calibrate_dict(c: CalibrateSpec) -> dict[str, Any]:
    """The ``[calibrate]`` table as a suite file writes it."""
    out: dict[str, Any] = {"caches": list(c.caches), "prompts": c.prompts, "holdout": c.holdout,
                           "skip_rates": list(c.skip_rates), "min_r2": c.min_r2}
    if c.params:
        out["params"] = {name: dict(p) for name, p in c.params}
    if c.transfer:
        out["transfer"] = [dict(s) for s in c.transfer]
    return out
