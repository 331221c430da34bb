"""The order in which GenEval considers one class's detections, ties included.

Upstream (``evaluation/evaluate_images.py``) orders a class's detections with
``np.argsort(scores)[::-1]`` on the float32 scores, in the numpy its environment pins
(1.23.1). That argsort is numpy's introsort (``kind="quicksort"``, the default), and its
order among exactly equal scores is part of the result: colour and position are judged on
the first ``count`` detections, so a tie decides which object is judged.

* With at most 16 detections the introsort is a plain insertion sort, which is stable, so
  after the reversal the **later** of two tied detections comes first.
* With more, its partitioning reorders ties in its own way. Newer numpy (1.25+) sorts with
  SIMD code on AVX-512 or AVX2 machines, whose tie order differs again and varies with the
  CPU, so calling today's ``np.argsort`` would not reproduce upstream.

:func:`argsort` re-implements numpy 1.23's ``aquicksort`` (median-of-3 quicksort, insertion
sort for partitions of at most 16, heapsort past a depth limit) on Python floats, so the
order is upstream's on every machine. ``tests/metrics/test_geneval_order.py`` checks it
against orders recorded from numpy 1.23.5.
"""

from __future__ import annotations

from collections.abc import Sequence

SMALL_QUICKSORT = 15  # numpy's npysort: partitions of at most 16 items are insertion-sorted


def _less(a: float, b: float) -> bool:
    """numpy's float ``less``: NaN sorts after every number."""
    return a < b or (b != b and a == a)  # noqa: PLR0124 - the NaN test is the point


def _sift(v: Sequence[float], t: list[int], start: int, i: int, n: int, item: int) -> None:
    """Heapsort's sift-down on ``t[start:start + n]`` seen 1-based, ``item`` entering at ``i``."""
    j = i * 2
    while j <= n:
        if j < n and _less(v[t[start + j - 1]], v[t[start + j]]):
            j += 1
        if not _less(v[item], v[t[start + j - 1]]):
            break
        t[start + i - 1] = t[start + j - 1]
        i, j = j, j * 2
    t[start + i - 1] = item


def _heapsort(v: Sequence[float], t: list[int], start: int, n: int) -> None:
    """numpy's ``aheapsort`` on ``t[start:start + n]``."""
    for first in range(n >> 1, 0, -1):
        _sift(v, t, start, first, n, t[start + first - 1])
    while n > 1:
        item = t[start + n - 1]
        t[start + n - 1] = t[start]
        n -= 1
        _sift(v, t, start, 1, n, item)


def _insertion(v: Sequence[float], t: list[int], pl: int, pr: int) -> None:
    for pi in range(pl + 1, pr + 1):
        item = t[pi]
        pj = pi
        while pj > pl and _less(v[item], v[t[pj - 1]]):
            t[pj] = t[pj - 1]
            pj -= 1
        t[pj] = item


def argsort(values: Sequence[float]) -> list[int]:
    """``np.argsort(values)`` as numpy 1.23 computes it (ascending; ties as its introsort leaves them)."""
    v = list(values)
    t = list(range(len(v)))
    pl, pr = 0, len(v) - 1
    depth = (len(v).bit_length() - 1) * 2 if v else 0  # numpy: 2 x floor(log2 n)
    stack: list[tuple[int, int, int]] = []
    while True:
        if depth < 0:
            _heapsort(v, t, pl, pr - pl + 1)
        else:
            while pr - pl > SMALL_QUICKSORT:
                pm = pl + ((pr - pl) >> 1)
                if _less(v[t[pm]], v[t[pl]]):
                    t[pm], t[pl] = t[pl], t[pm]
                if _less(v[t[pr]], v[t[pm]]):
                    t[pr], t[pm] = t[pm], t[pr]
                if _less(v[t[pm]], v[t[pl]]):
                    t[pm], t[pl] = t[pl], t[pm]
                pivot = v[t[pm]]
                pi, pj = pl, pr - 1
                t[pm], t[pj] = t[pj], t[pm]
                while True:
                    pi += 1
                    while _less(v[t[pi]], pivot):
                        pi += 1
                    pj -= 1
                    while _less(pivot, v[t[pj]]):
                        pj -= 1
                    if pi >= pj:
                        break
                    t[pi], t[pj] = t[pj], t[pi]
                t[pi], t[pr - 1] = t[pr - 1], t[pi]
                depth -= 1
                if pi - pl < pr - pi:  # the larger side waits on the stack
                    stack.append((pi + 1, pr, depth))
                    pr = pi - 1
                else:
                    stack.append((pl, pi - 1, depth))
                    pl = pi + 1
            _insertion(v, t, pl, pr)
        if not stack:
            return t
        pl, pr, depth = stack.pop()


def most_confident_first(scores: Sequence[float]) -> list[int]:
    """Upstream's ``np.argsort(scores)[::-1]`` on float32 scores: indices, highest score first."""
    import numpy as np

    as_float32 = np.asarray(scores, dtype=np.float32).tolist()  # upstream's bbox array is float32
    return argsort(as_float32)[::-1]
