"""Bootstrap CIs and paired deltas: pure functions, checked against known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reports.bootstrap import cluster_bootstrap, cluster_t, paired_delta, shift


def test_mean_matches_plain_mean_and_is_reproducible() -> None:
    values = {(f"p{i}", s): float(i + s) for i in range(10) for s in range(3)}
    a, b = cluster_bootstrap(values), cluster_bootstrap(values)
    assert a == b
    assert a.estimate == pytest.approx(np.mean(list(values.values())))
    assert a.lo < a.estimate < a.hi and a.n == 30 and a.n_prompts == 10


def test_prompts_not_images_are_resampled() -> None:
    # Seeds that copy their prompt's value add no information: the interval must not
    # shrink as if 5x more independent images had been seen.
    rng = np.random.default_rng(1)
    per_prompt = rng.normal(0, 1, 20)
    one_seed = cluster_bootstrap({(f"p{i}", 0): v for i, v in enumerate(per_prompt)})
    five_seeds = cluster_bootstrap({(f"p{i}", s): v for i, v in enumerate(per_prompt) for s in range(5)})
    assert five_seeds.lo == pytest.approx(one_seed.lo) and five_seeds.hi == pytest.approx(one_seed.hi)


def test_coverage_is_close_to_95_percent() -> None:
    rng = np.random.default_rng(2)
    hits = 0
    for _ in range(200):
        sample = rng.normal(3.0, 2.0, 30)
        iv = cluster_bootstrap({(f"p{i}", 0): v for i, v in enumerate(sample)}, n_boot=1000)
        hits += iv.lo <= 3.0 <= iv.hi
    assert 0.88 <= hits / 200 <= 0.99


def test_paired_delta_resolves_a_shift_hidden_by_prompt_spread() -> None:
    rng = np.random.default_rng(3)
    difficulty = rng.normal(0, 1.0, 40)  # prompt effect 100x the shift
    base = {(f"p{i}", 0): d for i, d in enumerate(difficulty)}
    variant = {k: v - 0.01 + rng.normal(0, 0.001) for k, v in base.items()}
    delta = paired_delta(variant, base)
    assert delta.estimate == pytest.approx(-0.01, abs=0.001)
    assert delta.hi < 0 and delta.excludes(0.0)
    # Unpaired, the same shift is lost in the prompt spread: the two mean CIs overlap.
    a, b = cluster_bootstrap(variant), cluster_bootstrap(base)
    assert a.hi > b.lo and b.hi > a.lo


def test_failures_leave_both_sides_of_a_pair() -> None:
    base = {("a", 0): 1.0, ("b", 0): 2.0, ("c", 0): 3.0}
    variant = {("a", 0): 1.5, ("b", 0): math.nan, ("c", 0): None}
    delta = paired_delta(variant, base)  # type: ignore[arg-type]
    assert delta.estimate == 0.5 and delta.n == 1
    assert delta.ci is None and delta.excludes(0.0) is None  # one prompt: no interval


def test_identical_images_keep_infinite_psnr() -> None:
    values = {("a", 0): math.inf, ("b", 0): 40.0, ("c", 0): 42.0}
    iv = cluster_bootstrap(values)
    assert iv.estimate == math.inf and iv.hi == math.inf and iv.lo >= 40.0


def test_empty_and_shift() -> None:
    assert cluster_bootstrap({}).estimate is None
    moved = shift(cluster_bootstrap({("a", 0): 0.9, ("b", 0): 0.8}), 1.0)
    assert moved.estimate == pytest.approx(-0.15) and moved.hi <= -0.1 + 1e-12


def test_cluster_t_is_the_textbook_t_interval_over_prompt_means() -> None:
    from scipy import stats

    x = np.array([52.0, 52.4, 51.8, 55.1, 52.2])
    iv = cluster_t({(f"p{i}", 0): float(v) for i, v in enumerate(x)}, level=0.9)
    lo, hi = stats.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (iv.estimate, iv.n, iv.n_prompts) == (pytest.approx(x.mean()), 5, 5)
    assert (iv.lo, iv.hi) == (pytest.approx(lo), pytest.approx(hi))
    # two seeds of a prompt are one cluster: its mean counts once in the spread
    two = cluster_t({**{(f"p{i}", s): float(v) for i, v in enumerate(x) for s in (0, 1)}}, level=0.9)
    assert two.n_prompts == 5 and two.n == 10 and (two.lo, two.hi) == (pytest.approx(lo), pytest.approx(hi))
    assert cluster_t({("p", 0): 1.0}).lo is None and cluster_t({}).estimate is None
    inf = cluster_t({("p", 0): math.inf, ("q", 0): 50.0})  # no t-interval: the bootstrap's
    assert inf == cluster_bootstrap({("p", 0): math.inf, ("q", 0): 50.0})
    paired = paired_delta({("p", 0): 2.0, ("q", 0): 3.0, ("r", 0): 5.0},
                          {("p", 0): 1.0, ("q", 0): 1.0, ("r", 0): 1.0}, cluster_t, level=0.9)
    assert paired.estimate == pytest.approx(7 / 3) and paired.lo < 7 / 3 < paired.hi  # type: ignore[operator]
