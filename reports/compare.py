"""Several runs side by side: what may be paired, Pareto fronts across runs, paired deltas.

Runs are comparable when they used the same model (hub id and revision) and share (prompt,
seed) pairs. Everything here is computed over the pairs all runs share (the intersection,
which is named), so a run with more prompts never looks better or worse for prompts the
others did not see. Paired deltas against the first run's baseline are given only when
every run's baseline made the same images (same model settings and baseline settings):
then a variant's per-image metric can be differenced image by image with that baseline,
and its latency compared pair by pair. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reports.bootstrap import Key, cluster_bootstrap, paired_delta
from reports.pareto import Point, pareto_front
from reports.speedup import compare_latency, speedup_verdict

# Model settings that change the images; a difference in any of them means no common baseline.
IMAGE_SETTINGS = ("steps", "guidance", "height", "width", "dtype", "max_sequence_length")
AXES = ("latency", "cost", "energy")


class CompareError(ValueError):
    """The runs cannot be compared (one-line reason)."""


@dataclass(frozen=True)
class VariantRun:
    """One variant of one run: per-image values by (prompt id, seed)."""

    name: str
    ok: bool
    is_baseline: bool
    latency_s: Mapping[Key, float | None]
    energy_j: Mapping[Key, float | None]
    scores: Mapping[str, Mapping[Key, float | None]]  # metric -> values
    usd_per_second: float | None  # price per hour x GPUs per image / 3600


@dataclass(frozen=True)
class RunView:
    """What ``compare`` reads from one run folder."""

    label: str  # unique among the compared runs
    machine: str
    model: Mapping[str, Any]  # the suite's [model] table
    baseline_settings: str  # canonical JSON of the baseline's accelerators
    packages: Mapping[str, str | None]
    hardware: Mapping[str, Any]
    metrics: Mapping[str, Mapping[str, Any]]  # name -> {higher_is_better, kind, ideal, identity}
    variants: Sequence[VariantRun]

    def keys(self) -> set[Key]:
        """(prompt, seed) pairs with a timed image in any variant."""
        return {k for v in self.variants for k, x in v.latency_s.items() if x is not None}


@dataclass(frozen=True)
class Pairing:
    """What the runs have in common, and what differs between them."""

    keys: frozenset[Key]
    keys_by_run: dict[str, int]
    prompts: int
    metrics: tuple[str, ...]
    dropped_metrics: dict[str, str]
    common_baseline: bool
    baseline_note: str
    differences: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """E.g. '12 (prompt, seed) pairs over 6 prompts, shared by all runs (of 16, 12)'."""
        of = ", ".join(str(n) for n in self.keys_by_run.values())
        return (f"{len(self.keys)} (prompt, seed) pairs over {self.prompts} prompts, shared by "
                f"all runs (of {of})")


def pair_runs(runs: Sequence[RunView]) -> Pairing:
    """Check the runs are comparable and find their common ground.

    Raises:
        CompareError: fewer than two runs, different models, or no shared (prompt, seed).
    """
    if len(runs) < 2:
        raise CompareError("compare needs at least two run folders")
    first = runs[0]
    for r in runs[1:]:
        for key in ("id", "revision"):
            if r.model.get(key) != first.model.get(key):
                raise CompareError(f"runs use different models: {first.label} has model.{key} = "
                                   f"{first.model.get(key)!r}, {r.label} has {r.model.get(key)!r}")
    keys = frozenset(set.intersection(*(r.keys() for r in runs)))
    if not keys:
        raise CompareError("the runs share no (prompt, seed) pair with a timed image, so nothing "
                           "can be paired")
    metrics, dropped = [], {}
    for m in first.metrics:
        ids = {r.label: (r.metrics.get(m) or {}).get("identity") for r in runs}
        if any(m not in r.metrics for r in runs):
            dropped[m] = "not scored in " + ", ".join(r.label for r in runs if m not in r.metrics)
        elif len({repr(i) for i in ids.values()}) > 1:
            dropped[m] = "scored with different models or preprocessing"
        else:
            metrics.append(m)
    settings = [k for k in IMAGE_SETTINGS if len({repr(r.model.get(k)) for r in runs}) > 1]
    base_diff = len({r.baseline_settings for r in runs}) > 1
    common = not settings and not base_diff
    note = ("every run's baseline made the same images: deltas are paired with "
            f"{first.label}'s baseline" if common else
            "no common baseline (" + "; ".join(
                ([f"model {', '.join(settings)} differ"] if settings else [])
                + (["baseline settings differ"] if base_diff else [])) + "): no paired deltas")
    return Pairing(keys, {r.label: len(r.keys()) for r in runs}, len({k[0] for k in keys}),
                   tuple(metrics), dropped, common, note, differences(runs))


def differences(runs: Sequence[RunView]) -> list[str]:
    """One line per package version, device field or model setting that differs between runs."""
    lines = []

    def diff(kind: str, key: str, values: list[Any]) -> None:
        if len({repr(v) for v in values}) > 1:
            lines.append(f"{kind} {key}: " + "; ".join(f"{r.label} {v if v is not None else '-'}"
                                                        for r, v in zip(runs, values, strict=True)))

    for key in sorted({k for r in runs for k in r.hardware}):
        diff("device", key, [r.hardware.get(key) for r in runs])
    for key in sorted({k for r in runs for k in r.packages}):
        diff("package", key, [r.packages.get(key) for r in runs])
    for key in IMAGE_SETTINGS:
        diff("model", key, [r.model.get(key) for r in runs])
    return lines


def _on(values: Mapping[Key, float | None], keys: frozenset[Key]) -> dict[Key, float | None]:
    return {k: values.get(k) for k in keys}


def _median(values: Sequence[float]) -> float | None:
    s = sorted(values)
    return None if not s else (s[(len(s) - 1) // 2] + s[len(s) // 2]) / 2.0


def _mean(values: Mapping[Key, float | None]) -> float | None:
    good = [v for v in values.values() if v is not None and math.isfinite(v)]
    return sum(good) / len(good) if good else None


def quality(run: RunView, v: VariantRun, metric: str, keys: frozenset[Key]) -> tuple[float, Any]:
    """A variant's mean (and 95% CI) of ``metric`` over the shared pairs.

    A paired metric compares each image with its own run's baseline image, so the baseline
    itself sits at the metric's ideal (PSNR: its perfect value, the 100 dB cap).
    """
    info = run.metrics[metric]
    if info["kind"] != "per-image" and v.is_baseline:
        ideal = info.get("ideal")
        ideal = ideal if ideal is not None else info.get("perfect")  # PSNR: its 100 dB cap
        best = math.inf if info["higher_is_better"] else -math.inf  # a summary from before the cap
        return (float(ideal) if ideal is not None else best), None
    iv = cluster_bootstrap(_on(v.scores.get(metric, {}), keys))
    return (iv.estimate if iv.estimate is not None else math.nan), iv.ci


def points(runs: Sequence[RunView], pairing: Pairing) -> list[dict[str, Any]]:
    """One row per (run, variant) that completed: label, axes and per-metric quality."""
    rows = []
    for r in runs:
        for v in r.variants:
            if not v.ok:
                continue
            lat = [x for x in _on(v.latency_s, pairing.keys).values() if x is not None]
            mean_lat = sum(lat) / len(lat) if lat else None
            joules = _mean(_on(v.energy_j, pairing.keys))
            rows.append({
                "run": r.label, "variant": v.name, "machine": r.machine, "label": f"{r.label}/{v.name}",
                "is_baseline": v.is_baseline, "n": len(lat),
                "latency": _median(lat),
                "cost": mean_lat * v.usd_per_second if mean_lat is not None and v.usd_per_second else None,
                "energy": joules,
                "quality": {m: quality(r, v, m, pairing.keys) for m in pairing.metrics},
            })
    return rows


def fronts(rows: Sequence[Mapping[str, Any]], runs: Sequence[RunView],
           pairing: Pairing) -> dict[str, dict[str, list[str]]]:
    """metric -> axis -> labels on the Pareto front across all runs (axes with no value: [])."""
    info = runs[0].metrics
    out: dict[str, dict[str, list[str]]] = {}
    for m in pairing.metrics:
        out[m] = {}
        for axis in AXES:
            pts = [Point(p["label"], p[axis], p["quality"][m][0]) for p in rows if p[axis] is not None]
            out[m][axis] = pareto_front(pts, bool(info[m]["higher_is_better"]))
    return out


def paired_deltas(runs: Sequence[RunView], pairing: Pairing) -> list[dict[str, Any]]:
    """Each run's variants against the first run's baseline, pair by pair (common baseline only)."""
    if not pairing.common_baseline:
        return []
    ref = next((v for v in runs[0].variants if v.is_baseline and v.ok), None)
    if ref is None:
        return []
    per_image = [m for m in pairing.metrics if runs[0].metrics[m]["kind"] == "per-image"]
    out = []
    for r in runs:
        for v in r.variants:
            if not v.ok or (r is runs[0] and v is ref):
                continue
            cmp = compare_latency(_on(v.latency_s, pairing.keys), _on(ref.latency_s, pairing.keys))
            deltas = {}
            for m in per_image:
                d = paired_delta(_on(v.scores.get(m, {}), pairing.keys),
                                 _on(ref.scores.get(m, {}), pairing.keys))
                deltas[m] = {"delta": d.estimate, "ci": d.ci, "n_pairs": d.n,
                             "significant": d.excludes(0.0)}
            out.append({"run": r.label, "variant": v.name, "label": f"{r.label}/{v.name}",
                        "speedup": cmp.speedup.estimate, "speedup_ci": cmp.speedup.ci,
                        "speedup_verdict": speedup_verdict(cmp.speedup),
                        "delta_s": cmp.delta_s.estimate, "delta_s_ci": cmp.delta_s.ci, "metrics": deltas})
    return out


def compare(runs: Sequence[RunView]) -> dict[str, Any]:
    """The whole comparison as a JSON-able dict (``compare.json``)."""
    pairing = pair_runs(runs)
    rows = points(runs, pairing)
    return {
        "runs": [{"label": r.label, "machine": r.machine, "model": dict(r.model),
                  "variants": len(r.variants)} for r in runs],
        "pairing": {"shared": pairing.describe(), "n_keys": len(pairing.keys),
                    "prompts": pairing.prompts, "keys_by_run": pairing.keys_by_run,
                    "metrics": list(pairing.metrics), "dropped_metrics": pairing.dropped_metrics,
                    "common_baseline": pairing.common_baseline, "baseline_note": pairing.baseline_note,
                    "reference": runs[0].label},
        "differences": pairing.differences,
        "metrics": {m: dict(runs[0].metrics[m]) for m in pairing.metrics},
        "points": rows, "fronts": fronts(rows, runs, pairing),
        "deltas": paired_deltas(runs, pairing),
    }
