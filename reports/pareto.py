"""Pareto fronts over (cost, quality) points: pure functions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple


class Point(NamedTuple):
    """A variant's position: ``cost`` (lower is better) and ``quality`` (oriented by caller)."""

    name: str
    cost: float
    quality: float


def pareto_front(points: Sequence[Point], higher_is_better: bool = True) -> list[str]:
    """Names of the points no other point dominates, ordered by cost.

    A point dominates another when it is no worse on both axes and strictly better on one.
    Points with a non-finite cost or a NaN quality are never on the front.
    """
    sign = 1.0 if higher_is_better else -1.0
    valid = [p for p in points if math.isfinite(p.cost) and not math.isnan(p.quality)]
    front = []
    for p in valid:
        q = sign * p.quality
        dominated = any(
            (o.cost <= p.cost and sign * o.quality >= q)
            and (o.cost < p.cost or sign * o.quality > q)
            for o in valid
        )
        if not dominated:
            front.append(p)
    return [p.name for p in sorted(front, key=lambda p: (p.cost, -sign * p.quality))]
