"""Sequential budget checks on synthetic data: verdicts, look schedule, false-pass control."""

from __future__ import annotations

import numpy as np
import pytest

from reports.bootstrap import Interval
from reports.metric_info import MetricInfo
from reports.records import Budget
from reports.sequential import (
    FAIL,
    PASS,
    UNDECIDED,
    budget_interval,
    combine,
    final,
    judge,
    look_level,
    look_sizes,
    worst_margin,
)

SSIM = MetricInfo(True, "paired", 1.0)
SHARP = MetricInfo(True, "per-image", None)


def test_look_sizes_double_up_to_the_largest() -> None:
    assert look_sizes(16, 64) == (16, 32, 64)
    assert look_sizes(16, 40) == (16, 32, 40)
    assert look_sizes(16, 16) == (16,)
    assert look_sizes(32, 16) == (16,)
    with pytest.raises(ValueError):
        look_sizes(0, 8)


def test_look_level_splits_alpha_evenly() -> None:
    assert look_level(0.95, 1) == pytest.approx(0.95)
    assert look_level(0.95, 3) == pytest.approx(1 - 0.05 / 3)
    with pytest.raises(ValueError):
        look_level(1.0, 2)


@pytest.mark.parametrize(("kind", "limit", "interval", "expected"), [
    # drop: the loss is minus the delta, its pessimistic end is minus the delta's low end
    ("max_drop", 0.01, Interval(-0.004, -0.006, -0.002, 16, 16), PASS),
    ("max_drop", 0.01, Interval(-0.02, -0.03, -0.015, 16, 16), FAIL),
    ("max_drop", 0.01, Interval(-0.01, -0.014, -0.006, 16, 16), UNDECIDED),
    ("max_rise", 0.1, Interval(0.05, 0.02, 0.08, 16, 16), PASS),
    ("max_rise", 0.1, Interval(0.2, 0.15, 0.3, 16, 16), FAIL),
    ("min", 30.0, Interval(35.0, 32.0, 38.0, 16, 16), PASS),
    ("min", 30.0, Interval(25.0, 22.0, 28.0, 16, 16), FAIL),
    ("min", 30.0, Interval(30.5, 29.0, 32.0, 16, 16), UNDECIDED),
    ("max", 5.0, Interval(4.0, 3.0, 6.0, 16, 16), UNDECIDED),
    ("max", 5.0, Interval(None, None, None, 0, 0), FAIL),  # no valid values: cannot pass
    ("max", 5.0, Interval(4.0, None, None, 1, 1), UNDECIDED),  # one prompt: no spread yet
])
def test_judge(kind: str, limit: float, interval: Interval, expected: str) -> None:
    look = judge(Budget("m", kind, limit), interval)  # type: ignore[arg-type]
    assert look.verdict == expected


def test_margin_is_slack_of_the_pessimistic_end() -> None:
    drop = judge(Budget("ssim", "max_drop", 0.01), Interval(-0.004, -0.006, -0.002, 16, 16))
    assert drop.pessimistic == pytest.approx(0.006) and drop.margin == pytest.approx(0.004)
    low = judge(Budget("psnr", "min", 30.0), Interval(25.0, 22.0, 28.0, 16, 16))
    assert low.margin == pytest.approx(-8.0)
    assert worst_margin([drop, low]) is low
    assert "margin" in low.describe()


def test_combine_and_final() -> None:
    p = judge(Budget("m", "max", 1.0), Interval(0.0, -1.0, 0.5, 8, 8))
    u = judge(Budget("m", "max", 1.0), Interval(1.0, 0.5, 1.5, 8, 8))
    f = judge(Budget("m", "max", 1.0), Interval(3.0, 2.0, 4.0, 8, 8))
    assert combine([p, p]) == PASS and combine([p, u]) == UNDECIDED and combine([u, f]) == FAIL
    assert final(UNDECIDED) == FAIL and final(PASS) == PASS


def _values(rng: np.random.Generator, n: int, mean: float, sd: float) -> dict:
    return {(f"p{i}", 0): float(v) for i, v in enumerate(rng.normal(mean, sd, n))}


def test_budget_interval_uses_the_paired_delta_for_per_image_metrics() -> None:
    rng = np.random.default_rng(1)
    base = _values(rng, 32, 10.0, 3.0)  # large prompt-to-prompt spread ...
    variant = {k: v - 0.5 + rng.normal(0, 0.05) for k, v in base.items()}  # ... shared by both
    iv = budget_interval(Budget("sharpness", "max_drop", 1.0), SHARP, variant, base, 0.95)
    assert iv.lo is not None and iv.hi is not None and -0.6 < iv.lo < iv.hi < -0.4
    assert judge(Budget("sharpness", "max_drop", 1.0), iv).verdict == PASS
    mean = budget_interval(Budget("sharpness", "min", 0.0), SHARP, variant, base, 0.95)
    assert mean.hi is not None and mean.lo is not None and mean.hi - mean.lo > 1.0  # no pairing


def test_budget_interval_of_a_paired_metric_is_shifted_by_its_ideal() -> None:
    rng = np.random.default_rng(2)
    values = _values(rng, 32, 0.98, 0.005)
    iv = budget_interval(Budget("ssim", "max_drop", 0.05), SSIM, values, {}, 0.95)
    assert iv.estimate == pytest.approx(np.mean(list(values.values())) - 1.0)
    wider = budget_interval(Budget("ssim", "max_drop", 0.05), SSIM, values, {}, 0.99)
    assert wider.lo <= iv.lo and wider.hi >= iv.hi  # type: ignore[operator]


def _sequential_pass(rng: np.random.Generator, sizes: tuple[int, ...], level: float, loss: float,
                     sd: float = 0.02) -> bool:
    """One simulated probe whose true SSIM loss is ``loss``, judged at growing looks."""
    budget = Budget("ssim", "max_drop", 0.01)
    values = _values(rng, sizes[-1], 1.0 - loss, sd)
    for n in sizes:
        subset = dict(list(values.items())[:n])
        verdict = judge(budget, budget_interval(budget, SSIM, subset, {}, level)).verdict
        if verdict != UNDECIDED:
            return verdict == PASS
    return False


def test_bonferroni_split_keeps_false_passes_under_alpha() -> None:
    """A probe that truly breaks its budget must rarely pass, looks included."""
    sizes = look_sizes(8, 32)
    level = look_level(0.95, len(sizes))
    rng = np.random.default_rng(0)
    trials = 150
    false_passes = sum(_sequential_pass(rng, sizes, level, loss=0.0101) for _ in range(trials))
    assert false_passes / trials <= 0.05
    # and the method still has power: a probe well inside the budget passes nearly always
    passes = sum(_sequential_pass(rng, sizes, level, loss=0.0, sd=0.01) for _ in range(30))
    assert passes >= 27


PSNR = MetricInfo(True, "paired", None)  # a `min` budget reads the mean's interval


def _false_pass(rng: np.random.Generator, sizes: tuple[int, ...], level: float, kind: str) -> bool:
    """One probe whose true quality sits exactly on its budget, judged at growing looks.

    ``min``: PSNR-like values whose mean is the limit. ``max_drop``: a per-image metric whose
    paired drop against the baseline is the limit. Any pass is a false pass.
    """
    n = sizes[-1]
    if kind == "min":
        budget, info = Budget("psnr", "min", 50.0), PSNR
        values, base = _values(rng, n, 50.0, 2.0), {}
    else:
        budget, info = Budget("sharpness", "max_drop", 1.0), SHARP
        base = _values(rng, n, 10.0, 3.0)
        values = {k: v - 1.0 + float(rng.normal(0.0, 0.5)) for k, v in base.items()}
    for size in sizes:
        keys = list(values)[:size]
        iv = budget_interval(budget, info, {k: values[k] for k in keys},
                             {k: base[k] for k in keys if k in base}, level)
        verdict = judge(budget, iv).verdict
        if verdict != UNDECIDED:
            return verdict == PASS
    return False


def _bound(nominal: float, trials: int) -> float:
    """The nominal rate plus 3.5 binomial standard errors (seeded: the same draw every time)."""
    return nominal + 3.5 * float(np.sqrt(nominal * (1.0 - nominal) / trials))


@pytest.mark.parametrize("kind", ["min", "max_drop"])
@pytest.mark.parametrize("n", [4, 8, 16])
def test_one_look_on_few_prompts_falsely_passes_no_more_often_than_its_level(n: int, kind: str) -> None:
    """Each look at tune-smoke's Bonferroni level: one-sided error at most (1 - level) / 2.

    A percentile bootstrap over 4 prompts passed 8% of such probes against a nominal 0.8%
    (3% on 8 prompts, 1.7% on 16): its interval cannot reach past the sample's own range.
    """
    level = look_level(0.95, 3)
    rng = np.random.default_rng(n)
    trials = 4000
    rate = sum(_false_pass(rng, (n,), level, kind) for _ in range(trials)) / trials
    assert rate <= _bound((1.0 - level) / 2.0, trials), rate


@pytest.mark.parametrize("kind", ["min", "max_drop"])
def test_looks_at_4_8_and_16_prompts_falsely_pass_at_most_half_of_alpha(kind: str) -> None:
    """The whole schedule of tune-smoke's looks keeps docs/TUNE.md's guarantee."""
    sizes = look_sizes(4, 16)
    level = look_level(0.95, len(sizes))
    rng = np.random.default_rng(7)
    trials = 3000
    rate = sum(_false_pass(rng, sizes, level, kind) for _ in range(trials)) / trials
    assert rate <= _bound(0.025, trials), rate
