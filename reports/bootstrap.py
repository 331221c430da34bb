"""Bootstrap confidence intervals over prompts: pure functions, no I/O.

Images of one prompt are not independent draws (several seeds of the same prompt share its
difficulty), so the unit we resample is the prompt: every resample picks prompts with
replacement and keeps all of each picked prompt's (prompt, seed) values. For paired deltas
the variant's and the baseline's values of one (prompt, seed) are differenced first, so the
two are resampled jointly and the prompt-to-prompt spread that both share cancels out.

A percentile bootstrap cannot reach beyond the sample's own range, so over a handful of
prompts it covers less than its nominal level (over 4 prompts a 98.3% interval's lower end
lay above the true mean 8% of the time, not 0.8%). Where a decision is taken on few prompts
(``tune``'s looks), :func:`cluster_t` gives the studentized interval instead: the same
cluster-robust mean, with Student's t over the prompts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # imported where computed: reading a summary or validating a suite never needs numpy
    import numpy as np

Key = tuple[Hashable, int]  # (prompt id, seed)

N_BOOT = 2000
LEVEL = 0.95
SEED = 0  # fixed: the same run always renders the same intervals


class Interval(NamedTuple):
    """A point estimate with its percentile-bootstrap interval.

    ``lo``/``hi`` are None when fewer than two prompts have valid values: one prompt says
    nothing about prompt-to-prompt spread, and a zero-width interval would claim certainty.
    """

    estimate: float | None
    lo: float | None
    hi: float | None
    n: int  # valid values behind the estimate
    n_prompts: int  # clusters that were resampled

    @property
    def ci(self) -> tuple[float, float] | None:
        """``(lo, hi)`` or None, the form summary.json stores (as a list)."""
        return None if self.lo is None or self.hi is None else (self.lo, self.hi)

    def excludes(self, value: float = 0.0) -> bool | None:
        """True when the interval lies entirely above or below ``value`` (None: no interval)."""
        if self.lo is None or self.hi is None:
            return None
        return bool(self.lo > value or self.hi < value)


EMPTY = Interval(None, None, None, 0, 0)


def _valid(value: float | None) -> bool:
    # +inf stays: PSNR of identical images is infinite and is a real, best-possible value.
    return value is not None and not math.isnan(value)


def _clusters(values: Mapping[Key, float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-prompt sums and counts of the values, in a stable prompt order."""
    import numpy as np

    sums: dict[Hashable, float] = {}
    counts: dict[Hashable, int] = {}
    for (prompt, _seed), v in sorted(values.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        sums[prompt] = sums.get(prompt, 0.0) + v
        counts[prompt] = counts.get(prompt, 0) + 1
    return np.fromiter(sums.values(), float), np.fromiter(counts.values(), float)


def _order_statistics(stats: np.ndarray, level: float) -> tuple[float | None, float | None]:
    """Percentile interval by order statistics (no interpolation, so infinities survive)."""
    import numpy as np

    stats = stats[~np.isnan(stats)]
    if stats.size == 0:
        return None, None
    stats = np.sort(stats)
    alpha = (1.0 - level) / 2.0
    lo = stats[int(math.floor(alpha * stats.size))]
    hi = stats[max(int(math.ceil((1.0 - alpha) * stats.size)) - 1, 0)]
    return float(lo), float(hi)


def cluster_bootstrap(values: Mapping[Key, float | None], *, n_boot: int = N_BOOT,
                      level: float = LEVEL, seed: int = SEED) -> Interval:
    """Mean of the valid values with a bootstrap CI that resamples prompts.

    Args:
        values: (prompt id, seed) -> value; None and NaN are failures and left out.
        n_boot: bootstrap resamples.
        level: coverage of the interval (0.95 -> 2.5th and 97.5th percentiles).
        seed: seed of the resampling generator, fixed for reproducible reports.

    Returns:
        The plain mean over all valid values (every image weighs the same) and its interval.
    """
    import numpy as np

    valid = {k: float(v) for k, v in values.items() if _valid(v)}
    if not valid:
        return EMPTY
    sums, counts = _clusters(valid)
    with np.errstate(invalid="ignore"):  # inf - inf inside a resample gives NaN: dropped
        estimate = float(sums.sum() / counts.sum())
        if sums.size < 2:
            return Interval(estimate, None, None, len(valid), int(sums.size))
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, sums.size, size=(n_boot, sums.size))
        stats = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    lo, hi = _order_statistics(stats, level)
    return Interval(estimate, lo, hi, len(valid), int(sums.size))


def cluster_t(values: Mapping[Key, float | None], *, level: float = LEVEL, **_: float | int) -> Interval:
    """Mean of the valid values with a studentized (Student's t) CI over prompts.

    The estimate is :func:`cluster_bootstrap`'s (every image weighs the same); its standard
    error is the cluster-robust one of a ratio of sums, which with one seed per prompt is
    the textbook ``s / sqrt(n)``; the interval is ``t(n_prompts - 1)`` standard errors
    either side. Its coverage is exact for normal prompt means whatever their number, where
    the percentile bootstrap's falls short on few prompts. Non-finite values (PSNR of
    identical images before it was capped) leave the t-interval undefined: those fall back
    to the bootstrap. Extra keyword arguments (``n_boot``, ``seed``) are ignored, so the two
    are interchangeable.
    """
    import numpy as np
    from scipy.stats import t as student_t

    valid = {k: float(v) for k, v in values.items() if _valid(v)}
    if not valid:
        return EMPTY
    sums, counts = _clusters(valid)
    if not np.isfinite(sums).all():
        return cluster_bootstrap(valid, level=level)
    n = int(sums.size)
    estimate = float(sums.sum() / counts.sum())
    if n < 2:
        return Interval(estimate, None, None, len(valid), n)
    residuals = sums - estimate * counts
    se = math.sqrt(n / (n - 1) * float((residuals ** 2).sum())) / float(counts.sum())
    half = float(student_t.ppf(1.0 - (1.0 - level) / 2.0, n - 1)) * se
    return Interval(estimate, estimate - half, estimate + half, len(valid), n)


def paired_delta(variant: Mapping[Key, float | None], baseline: Mapping[Key, float | None],
                 interval: Callable[..., Interval] | None = None, **kwargs: float | int) -> Interval:
    """Mean of ``variant - baseline`` over (prompt, seed) pairs valid in both, with its CI.

    Pairs where either side failed are left out of both sides, so a variant never looks
    better because its hard prompts failed. ``interval`` is :func:`cluster_bootstrap` (the
    default) or :func:`cluster_t`.
    """
    diffs = {k: float(v) - float(baseline[k]) for k, v in variant.items()
             if _valid(v) and _valid(baseline.get(k))}
    diffs = {k: d for k, d in diffs.items() if not math.isnan(d)}
    return (interval or cluster_bootstrap)(diffs, **kwargs)


def shift(interval: Interval, offset: float) -> Interval:
    """The same interval moved by ``-offset`` (a mean's CI turned into a delta's CI)."""
    move = (lambda x: None if x is None else x - offset)  # noqa: E731
    return Interval(move(interval.estimate), move(interval.lo), move(interval.hi), interval.n,
                    interval.n_prompts)
