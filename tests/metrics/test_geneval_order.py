"""metrics.geneval_order re-implements numpy 1.23's argsort, GenEval's order among tied scores.

``numpy123_argsort.json`` holds orders recorded from numpy 1.23.5's ``np.argsort`` (GenEval's
environment pins numpy 1.23.1, whose sort code is the same): arrays of 2 to 100 scores drawn
from six levels (many ties), one with NaNs, and the SHA-256 of the order of a 1000-item
"median-of-3 killer" array, which drives the introsort into its heapsort fallback.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from metrics.geneval_order import argsort, most_confident_first

RECORDED = json.loads((Path(__file__).parent / "numpy123_argsort.json").read_text())


def killer(n: int) -> list[float]:
    """Musser's median-of-3 killer sequence (the recorded array, rebuilt)."""
    a = [0.0] * n
    k = n // 2
    for i in range(1, k + 1):
        if i % 2:
            a[i - 1], a[i] = float(i), float(k + i)
        a[k + i - 1] = float(2 * i)
    return a


@pytest.mark.parametrize("case", RECORDED["cases"], ids=lambda c: f"n{len(c['levels'])}")
def test_matches_numpy_1_23_on_tied_scores(case: dict) -> None:
    values = [float(np.float32(RECORDED["levels"][i])) for i in case["levels"]]
    assert argsort(values) == case["order"]
    if len(values) <= 16:  # insertion sort: stable, so descending = later first among ties
        assert most_confident_first(values) == np.argsort(values, kind="stable")[::-1].tolist()


def test_nan_sorts_last_as_in_numpy() -> None:
    values = [0.5, math.nan, 0.3, 0.5, math.nan, 0.9] * 4
    assert argsort(values) == RECORDED["nan_order"]


def test_heapsort_fallback_matches_numpy_1_23() -> None:
    order = argsort([float(np.float32(x)) for x in killer(1000)])
    assert hashlib.sha256(json.dumps(order).encode()).hexdigest() == RECORDED["killer_1000_sha256"]
    assert sorted(order) == list(range(1000))


def test_distinct_scores_sort_descending_whatever_the_length() -> None:
    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 17, 200):
        scores = rng.random(n).astype(np.float32).tolist()
        assert most_confident_first(scores) == np.argsort(scores, kind="stable")[::-1].tolist()
