"""Equal work on a real run: a deliberately broken cache is flagged, the real ones are not.

The broken cache (tests/evalsuite/analysis/_broken_cache.py) adds the cached residual twice
on every skipped step, as vllm-omni's MagCache did (PR #5561). It runs in the session's
worse run (tests/evalsuite/conftest.py) beside gate-smoke's real caches: diffusers First Block
Cache, cache-dit DBCache F1B0, TeaCache and MagCache (ParaAttention's is not installed here).
Two endpoint variants are held to the same band (issue 21 §2): ``evalsuite serve`` running
gate-smoke's ``fbcache-0.2`` (equal settings), and a server running the broken cache. The
server reports each image's denoiser calls (the response's ``cache`` field), so a served
cache is compared at its measured skip rate, as a local one is.
"""

from __future__ import annotations

import json

from tests.evalsuite.conftest import WorseRun


def test_the_broken_cache_is_an_implementation_outlier_and_the_real_ones_are_not(worse_run: WorseRun) -> None:
    ew = json.loads((worse_run.path / "summary.json").read_text())["equal_work"]
    outliers = [c for c in ew["checks"] if c["outlier"]]
    assert {c["variant"] for c in outliers} == {"broken", "served-broken"}
    assert {c["metric"] for c in outliers} == {"psnr", "ssim"}
    assert all("implementation outlier" in c["note"] and "a candidate bug" in c["note"]
               and c["direction"] == "worse" for c in outliers)
    impls = {p["implementation"] for p in ew["points"]}
    assert impls == {"fbcache", "cache_dit", "teacache", "magcache", "broken_fbcache",
                     "endpoint:served-fbcache-0.2", "endpoint:served-broken"}
    # every real implementation was held to a band somewhere, not waved through for want of one
    banded = {p["implementation"] for p in ew["points"]
              for c in ew["checks"] if c["variant"] == p["variant"] and c["band"] is not None}
    assert banded == impls
    html = (worse_run.path / "report" / "index.html").read_text()
    assert "Implementations at equal work" in html and "implementation outlier" in html


def test_a_served_cache_is_counted_as_its_local_twin_and_held_to_the_band(worse_run: WorseRun) -> None:
    summary = json.loads((worse_run.path / "summary.json").read_text())
    by_name = {v["name"]: v for v in summary["variants"]}
    served, local = by_name["served-fbcache-0.2"], by_name["fbcache-0.2"]
    # The server counts as the sweep's worker does, image by image: the same work exactly.
    assert served["steps"] == local["steps"] and 0 < served["steps"]["skip_rate"] < 1
    assert served["metrics"]["psnr"]["mean"] == local["metrics"]["psnr"]["mean"]
    checks = {(c["variant"], c["metric"]): c for c in summary["equal_work"]["checks"]}
    assert checks[("served-fbcache-0.2", "psnr")]["band"] is not None
    assert not checks[("served-fbcache-0.2", "psnr")]["outlier"]
    assert checks[("served-broken", "psnr")]["outlier"]
