"""What every renderer of ``calibration.json`` shares: which numbers and which threshold to write.

A renderer writes the fitted numbers and one threshold: the one the traces place at the first
checked skip-rate target (``[calibrate] skip_rates``, 25% by default), the most conservative
of those checked. ``calibration.json``'s curve lists the threshold for every other skip rate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from reports.calibrate_records import CacheFit, CalibrationFile
from reports.traces import THRESHOLD_PARAM


class Pick(NamedTuple):
    """One cache of one transformer, with the threshold a renderer writes."""

    transformer: str
    fit: CacheFit
    threshold: float  # at the first checked target; the cache's own if it reached none


def picks(cal: CalibrationFile, cache: str) -> list[Pick]:
    """Every transformer's fit of ``cache``, in the file's order."""
    out = []
    for t in cal.transformers:
        if (fit := t.cache(cache)) is not None:
            key = THRESHOLD_PARAM[fit.cache]
            out.append(Pick(t.name, fit, fit.checks[0].threshold if fit.checks else float(fit.base[key])))
    return out


def single(cal: CalibrationFile, cache: str) -> Pick | None:
    """The one transformer's fit of ``cache`` (None when absent or per expert)."""
    found = picks(cal, cache)
    return found[0] if len(found) == 1 else None


def floats(values: Any) -> list[float]:
    """Numbers as plain floats (JSON and Python literals agree on them)."""
    return [float(v) for v in values]


def header(cal: CalibrationFile, consumer: str, comment: str = "#") -> str:
    """The lines every exported file starts with: whose numbers, made how."""
    m = cal.model
    rev = f"@{m.revision}" if m.revision else ""
    s = cal.settings
    lines = [f"{consumer}: cache numbers calibrated by `evalsuite calibrate` for {m.id}{rev} ({m.family}, "
             f"{m.dtype}), traced at {s.get('steps')} steps, {s.get('height')}x{s.get('width')}, "
             f"{cal.n_prompts} prompts ({cal.n_holdout} held out). See calibration.json for fit quality."]
    untrusted = [f.cache for t in cal.transformers for f in t.caches if not f.trusted]
    if untrusted:
        lines.append(f"WARNING: too poor to trust: {', '.join(sorted(set(untrusted)))} "
                     "(see calibration.json)")
    return "\n".join(f"{comment} {line}" for line in lines) + "\n"


def dumps(value: Mapping[str, Any]) -> str:
    """Indented JSON."""
    return json.dumps(value, indent=2) + "\n"


def yaml_lines(value: Mapping[str, Any], indent: int = 0) -> list[str]:
    """A nested mapping of scalars and lists as block YAML (lists in flow style); enough for
    the flat configs written here, and read back with ``yaml.safe_load`` in the tests."""
    out = []
    for key, v in value.items():
        pad = " " * indent
        if isinstance(v, Mapping):
            out += [f"{pad}{key}:", *yaml_lines(v, indent + 2)]
        else:
            out.append(f"{pad}{key}: {json.dumps(v)}")
    return out


def taylorseer(base: Mapping[str, Any]) -> dict[str, Any]:
    """cache-dit's TaylorSeer calibrator as cache-dit, vLLM-Omni and TensorRT-LLM spell it
    (``enable_taylorseer``, ``taylorseer_order``); empty when the cache ran without it."""
    if not base.get("taylorseer"):
        return {}
    return {"enable_taylorseer": True, "taylorseer_order": int(base.get("taylorseer_order", 1))}
