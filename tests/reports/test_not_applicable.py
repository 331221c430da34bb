"""A metric that does not apply to a variant (a paired metric of another model) reads n/a, never 0."""

from __future__ import annotations

import math
from collections import Counter

from reports.metric_info import MetricInfo
from reports.metric_stats import NOT_APPLICABLE, metric_entry

SSIM = MetricInfo(higher_is_better=True, kind="paired", ideal=1.0)


def test_all_values_not_applicable_make_an_na_entry_with_its_reason() -> None:
    values = {("p1", 0): math.nan, ("p2", 0): math.nan}
    entry = metric_entry(SSIM, values, {}, is_baseline=False,
                         reasons=Counter({NOT_APPLICABLE + "different model": 2}))
    assert entry.not_applicable == "different model"
    assert entry.mean is None and entry.n_valid == 0 and entry.n_failed == 2
    assert entry.delta_vs_baseline is None and entry.verdict is None


def test_failures_of_another_kind_stay_failures() -> None:
    values = {("p1", 0): 0.9, ("p2", 0): math.nan}
    entry = metric_entry(SSIM, values, {}, is_baseline=False, reasons=Counter({"scorer returned NaN": 1}))
    assert entry.not_applicable is None and entry.n_valid == 1 and entry.mean == 0.9
