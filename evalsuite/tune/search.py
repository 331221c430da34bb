"""Where ``tune`` probes next: bracket, then bisect over the grid's indices. Pure functions.

Speed grows with a cache's threshold and quality falls with it (nearly monotonically), so
"passes every budget" holds on a prefix of the grid, and the answer is the prefix's last
index. We track the smallest failing index ``b`` (initially one past the grid: the top is
probed first, and a top that passes is the answer) and the largest passing index ``a``
below it (initially one before the grid: nothing is assumed to pass, not even the lowest
setting, because fixed companions such as FP8 may already break a budget on their own).
Each probe halves ``(a, b)``; the search ends when they are adjacent. Warm-start indices
(from a trace's predicted speedups) are probed first, as long as they still lie inside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bracket:
    """The current bracket: ``passing`` < answer region <= ``failing`` (grid indices)."""

    passing: int  # largest passing index below ``failing``; -1: none yet
    failing: int  # smallest failing index; n_points: none yet

    @property
    def closed(self) -> bool:
        """True when the two ends are adjacent: nothing left between them to probe."""
        return self.failing - self.passing <= 1


def bracket(n_points: int, outcomes: Mapping[int, bool]) -> Bracket:
    """The bracket implied by probed ``outcomes`` (grid index -> passed every budget).

    A pass above the smallest fail breaks monotonicity; it is ignored, which keeps the
    answer on the safe (lower) side.
    """
    failing = min((i for i, ok in outcomes.items() if not ok), default=n_points)
    passing = max((i for i, ok in outcomes.items() if ok and i < failing), default=-1)
    return Bracket(passing, failing)


def next_index(n_points: int, outcomes: Mapping[int, bool], warm: Sequence[int] = ()) -> int | None:
    """The next grid index to probe, or None when the answer is known.

    Args:
        n_points: grid size (indices 0 .. n_points - 1).
        outcomes: probed indices and whether each passed every budget.
        warm: warm-start indices, tried in order while they lie strictly inside the bracket.
    """
    if n_points < 1:
        raise ValueError("the grid needs at least one point")
    b = bracket(n_points, outcomes)
    if b.failing == n_points and n_points - 1 not in outcomes:
        return n_points - 1  # the top first: if it passes, nothing else needs probing
    if b.closed:
        return None
    for i in warm:
        if b.passing < i < b.failing and i not in outcomes:
            return i
    return (b.passing + b.failing) // 2


def answer(n_points: int, outcomes: Mapping[int, bool]) -> int | None:
    """The largest passing index of a finished search (None: nothing passes)."""
    b = bracket(n_points, outcomes)
    return b.passing if b.passing >= 0 else None


def grid_answer(passed: Sequence[bool]) -> int | None:
    """What an exhaustive grid answers: the largest index that passes (None: none does)."""
    return max((i for i, ok in enumerate(passed) if ok), default=None)
