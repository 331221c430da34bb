"""Cache telemetry: skip rate against the swept parameter, inert variants and quality cliffs.

A cache variant is *inert* when it skipped no denoising step in the whole run: it is the
baseline at the cost of the cache's bookkeeping, usually a threshold set too low. A *cliff*
is a sweep step that is small compared with the swept range but costs most of the sweep's
quality loss: the threshold just before it is where a user should stop.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from reports.metric_stats import WORSE, oriented_loss

# A step is a cliff when it carries at least this share of the sweep's total loss ...
CLIFF_MIN_SHARE = 0.5
# ... and at least this many times its share of the swept range (it is steeper than average).
CLIFF_STEEPNESS = 2.0
PREFERRED_AXIS = "threshold"


class SweepPoint(NamedTuple):
    """One variant of a sweep, as the cliff finder sees it for one metric."""

    name: str
    x: float
    loss: float | None  # positive = worse than the baseline
    worse: bool | None  # significantly worse than the baseline (None: no test possible)


class Cliff(NamedTuple):
    """A sweep step with a disproportionate quality loss."""

    before: str
    after: str
    x_before: float
    x_after: float
    loss_before: float
    loss_after: float
    share_of_loss: float
    share_of_range: float


def find_cliffs(points: Sequence[SweepPoint], min_share: float = CLIFF_MIN_SHARE,
                steepness: float = CLIFF_STEEPNESS) -> list[Cliff]:
    """Steps between consecutive sweep values (sorted by x) that are cliffs.

    Needs three points with finite losses (two steps): with one step there is nothing to
    compare its slope with. The point after the step must be significantly worse than the
    baseline, unless the metric has no significance test (PSNR), so noise is never a cliff.
    """
    pts = sorted((p for p in points if p.loss is not None and math.isfinite(p.loss)), key=lambda p: p.x)
    if len(pts) < 3 or pts[-1].x <= pts[0].x:
        return []
    jumps = [b.loss - a.loss for a, b in zip(pts, pts[1:], strict=False)]  # type: ignore[operator]
    total = sum(j for j in jumps if j > 0)
    span = pts[-1].x - pts[0].x
    if total <= 0:
        return []
    cliffs = []
    for (a, b), jump in zip(zip(pts, pts[1:], strict=False), jumps, strict=True):
        share, rshare = jump / total, (b.x - a.x) / span
        if share >= min_share and share >= steepness * rshare and b.worse is not False:
            cliffs.append(Cliff(a.name, b.name, a.x, b.x, a.loss, b.loss, share, rshare))  # type: ignore[arg-type]
    return cliffs


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _axis(group: Sequence[Mapping[str, Any]]) -> str | None:
    """The swept parameter: ``threshold`` if it varies, else the first that varies."""
    params = [v["cache"]["params"] for v in group]
    varying = sorted(k for k in params[0] if _numeric(params[0][k])
                     and len({json.dumps(p.get(k)) for p in params}) > 1)
    if PREFERRED_AXIS in varying or (not varying and PREFERRED_AXIS in params[0]):
        return PREFERRED_AXIS
    return varying[0] if varying else None


def variant_loss(variant: Mapping[str, Any], metric: str, info: Mapping[str, Any]) -> float | None:
    """Oriented loss against the baseline; PSNR (no delta) falls back to minus its value."""
    entry = variant["metrics"].get(metric, {})
    if entry.get("delta_vs_baseline") is not None:
        return oriented_loss(info, entry["delta_vs_baseline"])
    mean = entry.get("mean")
    return oriented_loss(info, mean) if isinstance(mean, int | float) else None


def cache_telemetry(variants: Sequence[Mapping[str, Any]],
                    metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Sweeps per cache accelerator, with skip rates, inert variants and cliffs.

    Args:
        variants: summary variants; cache variants carry ``cache`` = {"accelerator",
            "params"} and everything else ``cache`` = None.
        metrics: name -> {higher_is_better, kind, ideal}.
    """
    by_acc: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for v in variants:
        if v.get("cache") and v["status"] == "ok":
            by_acc[v["cache"]["accelerator"]].append(v)
    sweeps = []
    for acc, members in by_acc.items():
        axis = _axis(members)
        # One series per combination of everything but the swept parameter.
        groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for v in members:
            others = {k: p for k, p in v["accelerators"].items() if k != acc}
            fixed = {k: p for k, p in v["cache"]["params"].items() if k != axis}
            groups[json.dumps([others, fixed], sort_keys=True, default=str)].append(v)
        for key, group in groups.items():
            others, fixed = json.loads(key)
            xs = {v["name"]: float(v["cache"]["params"][axis]) if axis else math.nan for v in group}
            group = sorted(group, key=lambda v: xs[v["name"]])
            sweeps.append(_sweep(acc, axis, fixed, others, group, xs, metrics))
    return {"sweeps": sweeps, "inert": [v["name"] for v in variants if v.get("inert")]}


def _sweep(acc: str, axis: str | None, fixed: dict, others: dict, group: Sequence[Mapping[str, Any]],
           xs: Mapping[str, float], metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    cliffs = {}
    for m, info in metrics.items():
        pts = [SweepPoint(v["name"], xs[v["name"]], variant_loss(v, m, info),
                          None if (vd := v["metrics"].get(m, {}).get("verdict")) is None else vd == WORSE)
               for v in group]
        if found := find_cliffs(pts):
            cliffs[m] = [c._asdict() for c in found]
    return {
        "accelerator": acc, "param": axis, "fixed": fixed, "with": others,
        "points": [{"variant": v["name"], "x": xs[v["name"]], "skip_rate": v["steps"]["skip_rate"],
                    "speedup_p50": v.get("speedup_p50"), "inert": bool(v.get("inert")),
                    "loss": {m: variant_loss(v, m, i) for m, i in metrics.items()}} for v in group],
        "cliffs": cliffs,
    }


def cliff_notes(telemetry: Mapping[str, Any]) -> dict[str, list[str]]:
    """Variant name -> one line per cliff that ends at it, for the variants table."""
    notes: dict[str, list[str]] = defaultdict(list)
    for sweep in telemetry["sweeps"]:
        for metric, cliffs in sweep["cliffs"].items():
            for c in cliffs:
                notes[c["after"]].append(
                    f"cliff: {metric} loss {c['loss_before']:.3g} -> {c['loss_after']:.3g} from "
                    f"{sweep['param']} {c['x_before']:g} to {c['x_after']:g} "
                    f"({c['share_of_loss']:.0%} of the sweep's loss in {c['share_of_range']:.0%} "
                    "of its range)")
    return dict(notes)
