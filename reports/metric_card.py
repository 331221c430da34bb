"""The metric sensitivity card's arithmetic: how far each degradation moves each metric,
in units of that metric's seed-noise floor (pure functions; ``evalsuite metric-card`` feeds them).

* **per-image** metrics: the paired response is the mean over images of
  ``value(degraded) - value(original)``; the floor is the report's seed-noise floor (how far
  the metric's mean moves when the baseline is run with other seeds). A response no larger
  than the floor is *inside the floor*: a variant that did this much damage would read as
  seed noise.
* **set** metrics (CMMD): the response is the value of the degraded set against the
  originals; the floor is the value of the reseeded baseline's set against the originals.
* **paired** metrics (PSNR, SSIM, LPIPS) compare with the same-seed baseline image, so seed
  noise does not enter them: any response shows. Their response is ``mean - ideal`` (PSNR
  has no ideal: its response is its mean, down from its 100 dB cap), and the floor column
  gives, for scale, how far a different-seed image lands; they are flagged only when the
  degradation does not move them at all.

The report reads the card back (:func:`card_findings`): beside each metric in its chart
selector, what the card found, and a default chart metric the card trusts
(:func:`chart_metric`), so that the first chart a reader sees does not crown a variant for
damage its metric mistakes for quality (sharpness rises with noise).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Key = tuple[str, int]  # (prompt id, seed)


@dataclass(frozen=True)
class Cell:
    """One metric under one degradation."""

    degradation: str
    value: float | None  # the metric's mean on the degraded images (set: its one value)
    response: float | None  # the change the degradation caused (see the module docstring)
    n: int  # images behind the value
    floor_units: float | None  # |response| / floor
    inside_floor: bool | None  # True: this degradation would pass as seed noise (or no change)


@dataclass(frozen=True)
class MetricRow:
    """One metric's responses to every degradation."""

    metric: str
    kind: str
    higher_is_better: bool
    floor: float | None
    cells: tuple[Cell, ...]

    @property
    def blind_to(self) -> tuple[str, ...]:
        """Degradations this metric cannot tell apart from seed noise."""
        return tuple(c.degradation for c in self.cells if c.inside_floor)


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def per_image_cell(degradation: str, original: Mapping[Key, float | None],
                   degraded: Mapping[Key, float | None], floor: float | None) -> Cell:
    """Mean paired change of a per-image metric, against its seed-noise floor."""
    diffs = [float(degraded[k]) - float(v) for k, v in original.items()  # type: ignore[arg-type]
             if _finite(v) and _finite(degraded.get(k))]
    values = [float(v) for v in degraded.values() if _finite(v)]  # type: ignore[arg-type]
    response = _mean(diffs)
    return _cell(degradation, _mean(values), response, len(diffs), floor, exact_zero=False)


def paired_cell(degradation: str, degraded: Mapping[Key, float | None], ideal: float | None,
                scale: float | None, perfect: float | None = None) -> Cell:
    """A paired metric's distance from its ideal under a degradation (scale: seed distance).

    ``perfect``: a metric without an ideal (PSNR) is unmoved when every image scores it (100 dB).
    """
    values = [float(v) for v in degraded.values() if v is not None and not math.isnan(v)]
    mean = _mean(values)
    if mean is None:
        return Cell(degradation, None, None, 0, None, None)
    if ideal is None:  # PSNR: identical images score its cap (or +inf, stored before the cap)
        unmoved = math.isinf(mean) or (perfect is not None and mean >= perfect)
        return Cell(degradation, mean, mean, len(values), None, unmoved)
    return _cell(degradation, mean, mean - ideal, len(values), scale, exact_zero=True)


def set_cell(degradation: str, value: float | None, n: int, floor: float | None) -> Cell:
    """A set metric's value for the degraded set against the originals."""
    return _cell(degradation, value, value, n if value is not None else 0, floor, exact_zero=False)


def _cell(degradation: str, value: float | None, response: float | None, n: int,
          floor: float | None, *, exact_zero: bool) -> Cell:
    if response is None or not math.isfinite(response):
        return Cell(degradation, value, response, n, None, None)
    units = abs(response) / floor if _finite(floor) and floor else None  # type: ignore[operator]
    if exact_zero:  # paired metrics: flagged only when nothing moved
        inside: bool | None = abs(response) < 1e-12
    else:
        inside = abs(response) <= floor if _finite(floor) else None  # type: ignore[operator]
    return Cell(degradation, value, response, n, units, inside)


def card_json(rows: Sequence[MetricRow], degradations: Mapping[str, str], *, images: int,
              caveat: str, media: str = "images") -> dict[str, Any]:
    """The card as JSON-ready data (``metric-card --json``, ``metric_card.json``).

    ``images``: how many baseline samples were degraded; ``media``: what they were ("images",
    or "clips" for a video run).
    """
    return {
        "images": images, "media": media, "caveat": caveat, "degradations": dict(degradations),
        "metrics": [{"metric": r.metric, "kind": r.kind, "higher_is_better": r.higher_is_better,
                     "floor": r.floor, "blind_to": list(r.blind_to),
                     "cells": [c.__dict__ for c in r.cells]} for r in rows],
    }


@dataclass(frozen=True)
class Finding:
    """What a metric card found about one metric, in the words the report shows."""

    metric: str
    notes: tuple[str, ...]  # e.g. ("rises with noise", "blind to jpeg"); () when nothing
    trusted: bool  # on the card, sees some damage, and never reads damage as an improvement
    blind: int = 0  # degradations inside its floor (a trusted metric with fewer is preferred)


def _family(degradation: str) -> str:
    """``blur-0.5`` -> ``blur``: the kind of damage, whatever its strength."""
    match = re.fullmatch(r"(.+)-[0-9.]+", degradation)
    return match.group(1) if match else degradation


def _grouped(flagged: Sequence[str], every: Sequence[str]) -> str:
    """Flagged degradations, a kind named once when every strength of it is flagged."""
    out: list[str] = []
    for name in flagged:
        family = _family(name)
        whole = all(d in flagged for d in every if _family(d) == family)
        item = family if whole else name
        if item not in out:
            out.append(item)
    return ", ".join(out)


def _moved(row: Mapping[str, Any], cell: Mapping[str, Any], better: bool) -> bool:
    """True when a degradation moved the metric the *better* (or worse) way, beyond its floor.

    Without a floor (no ``noise_floor`` run) any move counts: a damaged image scoring better
    is worth a warning even when its size cannot be judged. Paired metrics start at their
    ideal (PSNR: its cap), so any change of theirs is for the worse.
    """
    r = cell.get("response")
    if cell.get("inside_floor") or not _finite(r) or r == 0:
        return False
    if row.get("kind") == "paired":
        return not better and cell.get("inside_floor") is False
    return ((r > 0) == bool(row.get("higher_is_better"))) == better


def card_findings(metrics: Sequence[str], card: Mapping[str, Any]) -> dict[str, Finding]:
    """Each metric's findings from a card (``metric_card.json``); a metric the card did not
    score is noted as such and is not trusted."""
    rows = {r["metric"]: r for r in card.get("metrics", [])}
    every = list(card.get("degradations", {}))
    out: dict[str, Finding] = {}
    for m in metrics:
        row = rows.get(m)
        if row is None:
            out[m] = Finding(m, ("not on the metric card",), trusted=False)
            continue
        cells = row.get("cells", [])
        rewards = [c["degradation"] for c in cells if _moved(row, c, better=True)]
        blind = [c["degradation"] for c in cells if c.get("inside_floor")]
        notes = []
        if rewards:  # the better way is up for higher-is-better metrics, down for the others
            word = "rises" if row.get("higher_is_better") else "falls"
            notes.append(f"{word} with {_grouped(rewards, every)}")
        if blind:
            notes.append(f"blind to {_grouped(blind, every)}")
        sees = any(_moved(row, c, better=False) for c in cells)
        out[m] = Finding(m, tuple(notes), trusted=sees and not rewards, blind=len(blind))
    return out


def chart_metric(metrics: Sequence[str], findings: Mapping[str, Finding]) -> str:
    """The metric the report's charts open on: the first trusted one with the fewest blind
    spots, else (no card, or none trusted) the suite's first metric."""
    trusted = [m for m in metrics if m in findings and findings[m].trusted]
    if trusted:
        return min(trusted, key=lambda m: findings[m].blind)
    return metrics[0] if metrics else ""
