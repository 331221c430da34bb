"""Denoiser calls and cache skips of one generation at a time: the counts every sample carries.

One home for the counting that the sweep's worker (``evalsuite.run.worker``) and ``evalsuite
serve`` (``evalsuite.run.serve``, which reports them to its clients) both do, so an endpoint
variant served by evalsuite is counted exactly as its local twin is, and the two can be
compared at equal work (``reports.equal_work``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalsuite.accelerators.base import Applied
from evalsuite.models.families import Family
from evalsuite.models.pipeline import count_denoiser_calls


@dataclass(frozen=True)
class StepCounts:
    """One generation's denoiser calls: computed, skipped by a cache, and per transformer
    where a model has several (Wan 2.2's experts: name -> (computed, skipped)); else None."""

    computed: int
    skipped: int
    experts: dict[str, tuple[int, int]] | None = None


class DenoiserSteps:
    """Counts the denoiser calls and the caches' skips of the generation in progress."""

    def __init__(self, pipe: Any, family: Family, applied: Sequence[Applied]) -> None:
        # The overall counter of each technique sees every decision, its experts' included.
        self._totals = [a.counter for a in applied if a.counter is not None]
        self._experts = [a.experts for a in applied if a.experts]
        self._counters = self._totals + [c for e in self._experts for c in e.values()]
        self._calls = count_denoiser_calls(pipe, family)

    def forget_warmup(self) -> None:
        """Drop the decisions made so far (warm-up is not part of a run's telemetry)."""
        for c in self._counters:
            c.total_skipped = 0

    def reset(self) -> None:
        """Start counting a new generation."""
        for c in self._counters:
            c.reset()
        self._calls.update(dict.fromkeys(self._calls, 0))

    def counts(self) -> StepCounts:
        """The counts since the last :meth:`reset`."""
        skipped = sum(c.skipped for c in self._totals)
        return StepCounts(sum(self._calls.values()) - skipped, skipped, self._per_expert())

    def _per_expert(self) -> dict[str, tuple[int, int]] | None:
        if len(self._calls) < 2:
            return None
        skipped = {name: sum(e[name].skipped for e in self._experts if name in e) for name in self._calls}
        return {name: (n - skipped[name], skipped[name]) for name, n in self._calls.items()}
