"""One variant's entry for one metric in summary.json: mean, CI, paired delta, verdict.

Deltas are always "variant minus reference": for per-image metrics the reference is the
baseline's own image of the same prompt and seed (a paired delta); for paired metrics
(PSNR, SSIM, LPIPS compare each image with the baseline's) it is the metric's ideal, which
is what the baseline scores against itself; PSNR has no finite ideal and so no delta.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping

from reports.bootstrap import EMPTY, LEVEL, Interval, Key, cluster_bootstrap, paired_delta, shift
from reports.metric_info import MetricInfo
from reports.records import SetScore
from reports.summary_records import MetricEntry, NoiseEntry

# Verdicts on a delta, in the order the report explains them.
SAME = "indistinguishable"  # the delta's CI contains 0
NOISE = "within seed noise"  # significant, but no larger than seed noise alone moves the metric
WORSE = "worse"
BETTER = "better"
REFERENCE = "reference"  # the baseline itself
# Prefix of a stored failure reason that says the metric does not apply to the image (not
# that it failed): ``NOT_APPLICABLE + "different model"`` for a paired metric of a variant
# running another model than the baseline. All-n/a values make the entry's ``not_applicable``.
NOT_APPLICABLE = "n/a: "


def oriented_loss(info: MetricInfo, delta: float | None) -> float | None:
    """A delta turned into a loss: positive means worse, whatever the metric's direction."""
    if delta is None or math.isnan(delta):
        return None
    return -delta if info.higher_is_better else delta


def delta_interval(info: MetricInfo, values: Mapping[Key, float | None],
                   base: Mapping[Key, float | None], level: float = LEVEL,
                   interval: Callable[..., Interval] = cluster_bootstrap) -> tuple[Interval, Interval]:
    """(the variant's mean interval, its delta interval against the reference), at ``level``.

    ``interval`` makes each: the percentile bootstrap for the summary, Student's t
    (``bootstrap.cluster_t``) for ``tune``'s decisions on few prompts.
    """
    mean = interval(values, level=level)
    if info.kind == "paired":
        return mean, (shift(mean, info.ideal) if info.ideal is not None else EMPTY)
    return mean, paired_delta(values, base, interval, level=level)


def noise_floor_of(delta: Interval) -> float | None:
    """How far seed noise alone moves the metric's mean: the larger end of the delta's CI.

    For a per-image metric, ``delta`` is "baseline with other seeds minus baseline", so the
    floor is the largest mean shift that merely reseeding plausibly produces. For a paired
    metric it is how far a completely different sample of the same prompt lands from the
    baseline's image: a scale for reading fidelity numbers, not a tolerance.
    """
    if delta.estimate is None:
        return None
    ends = [x for x in (delta.lo, delta.hi, delta.estimate) if x is not None]
    return max(abs(x) for x in ends)


def verdict(info: MetricInfo, delta: Interval, floor: float | None) -> str | None:
    """Read a delta against its CI and, for per-image metrics, against the noise floor."""
    significant = delta.excludes(0.0)
    if significant is None:
        return None
    if not significant:
        return SAME
    if info.kind == "per-image" and floor is not None and abs(delta.estimate or 0.0) <= floor:
        return NOISE
    loss = oriented_loss(info, delta.estimate)
    return WORSE if (loss or 0.0) > 0 else BETTER


def _set_entry(info: MetricInfo, row: SetScore | None, is_baseline: bool) -> MetricEntry:
    mean = info.ideal if is_baseline else (row.value if row else None)
    delta = None if is_baseline or mean is None or info.ideal is None else mean - info.ideal
    return MetricEntry(mean=mean, n_valid=row.n if row and row.value is not None else 0,
                       failures={row.reason: 1} if row and row.reason else {},
                       reference=is_baseline, delta_vs_baseline=delta,
                       verdict=REFERENCE if is_baseline else None)


def metric_entry(info: MetricInfo, values: Mapping[Key, float | None],
                 base: Mapping[Key, float | None], *, is_baseline: bool,
                 reasons: Counter | None = None, set_row: SetScore | None = None,
                 floor: float | None = None) -> MetricEntry:
    """The summary entry of one metric for one variant.

    Args:
        info: the metric.
        values: the variant's per-image values by (prompt, seed); None/NaN = failed.
        base: the baseline's values by (prompt, seed) (per-image metrics only).
        is_baseline: the entry is the baseline's own.
        reasons: failure reason -> count.
        set_row: the set-level score of a set-level metric.
        floor: the metric's noise floor, when the suite measured one.
    """
    if info.kind == "set":
        return _set_entry(info, set_row, is_baseline)
    if info.kind == "paired" and is_baseline:
        return MetricEntry(mean=info.ideal, reference=True, verdict=REFERENCE,
                           delta_vs_baseline=0.0 if info.ideal is not None else None)
    if reasons and all(str(r).startswith(NOT_APPLICABLE) for r in reasons) and not any(
            v is not None and v == v for v in values.values()):  # every value n/a, none valid
        why = min(reasons, key=lambda r: (-reasons[r], r))
        return MetricEntry(mean=None, n_failed=len(values), failures=dict(reasons),
                           not_applicable=why[len(NOT_APPLICABLE):])
    mean, delta = delta_interval(info, values, base)
    within = (abs(delta.estimate) <= floor if floor is not None and delta.estimate is not None
              and info.kind == "per-image" else None)
    return MetricEntry(
        mean=mean.estimate, ci=mean.ci, n_valid=mean.n, n_failed=len(values) - mean.n,
        failures=dict(reasons or {}), delta_vs_baseline=delta.estimate, delta_ci=delta.ci,
        n_pairs=delta.n if info.kind == "per-image" else mean.n,
        significant=delta.excludes(0.0), within_noise=within,
        verdict=REFERENCE if is_baseline else verdict(info, delta, floor))


def noise_entry(info: MetricInfo, values: Mapping[Key, float | None],
                base: Mapping[Key, float | None]) -> NoiseEntry:
    """What reseeding the baseline does to one metric (summary.json ``noise_floor``)."""
    if info.kind == "set":
        return NoiseEntry()
    mean, delta = delta_interval(info, values, base)
    return NoiseEntry(mean=mean.estimate, ci=mean.ci, delta=delta.estimate, delta_ci=delta.ci,
                      floor=noise_floor_of(delta), n=mean.n)
