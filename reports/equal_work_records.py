"""The records of the summary's ``equal_work`` section (built by reports/equal_work.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Pair = tuple[float, float]


@dataclass(frozen=True)
class EqualWorkPoint:
    """One cache variant at its measured skip rate, with its quality per metric."""

    variant: str
    implementation: str  # the cache accelerator, or "endpoint:<variant>"
    skip_rate: float | None  # None: unknown (an endpoint reports no cache telemetry)
    # metric -> (value, CI low, CI high): the mean (paired metrics) or the paired delta
    quality: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    reason: str | None = None  # why the variant has no point on the chart


@dataclass(frozen=True)
class OutlierCheck:
    """One variant's quality on one fidelity metric against the other implementations' band."""

    variant: str
    metric: str
    skip_rate: float
    value: float
    ci: Pair
    band: Pair | None  # in the metric's units, widened; None: no other implementation near
    outlier: bool
    direction: str | None = None  # "worse" / "better" than the band
    note: str | None = None  # the flag in words, or why there is no band


@dataclass(frozen=True)
class EqualWork:
    """The summary's ``equal_work`` section."""

    method: str
    window: float
    error_factor: float
    points: tuple[EqualWorkPoint, ...] = ()
    checks: tuple[OutlierCheck, ...] = ()

    @property
    def outliers(self) -> tuple[OutlierCheck, ...]:
        """The checks flagged as implementation outliers."""
        return tuple(c for c in self.checks if c.outlier)
