"""Equal work on a real run: a deliberately broken cache is flagged, the real ones are not.

The broken cache (tests/evalsuite/analysis/_broken_cache.py) adds the cached residual twice
on every skipped step, as vllm-omni's MagCache did (PR #5561). It runs in the session's
worse run (tests/evalsuite/conftest.py) beside gate-smoke's real caches: diffusers First Block
Cache, cache-dit DBCache F1B0, TeaCache and MagCache (ParaAttention's is not installed here).
"""

from __future__ import annotations

import json

from tests.evalsuite.conftest import WorseRun


def test_the_broken_cache_is_an_implementation_outlier_and_the_real_ones_are_not(worse_run: WorseRun) -> None:
    ew = json.loads((worse_run.path / "summary.json").read_text())["equal_work"]
    outliers = [c for c in ew["checks"] if c["outlier"]]
    assert {c["variant"] for c in outliers} == {"broken"}
    assert {c["metric"] for c in outliers} == {"psnr", "ssim"}
    assert all("implementation outlier" in c["note"] and "a candidate bug" in c["note"]
               and c["direction"] == "worse" for c in outliers)
    impls = {p["implementation"] for p in ew["points"]}
    assert impls == {"fbcache", "cache_dit", "teacache", "magcache", "broken_fbcache"}
    # every real implementation was held to a band somewhere, not waved through for want of one
    banded = {p["implementation"] for p in ew["points"]
              for c in ew["checks"] if c["variant"] == p["variant"] and c["band"] is not None}
    assert banded == impls
    html = (worse_run.path / "report" / "index.html").read_text()
    assert "Implementations at equal work" in html and "implementation outlier" in html
