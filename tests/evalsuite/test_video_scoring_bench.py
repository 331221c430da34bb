"""bench/video_scoring_throughput.py --tiny: every video scorer's path and its bare forward run
on toy towers, so the script cannot rot."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_tiny_video_scoring_bench_times_every_video_scorer(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("video_scoring_throughput",
                                                  REPO / "bench" / "video_scoring_throughput.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # its dataclasses look their module up there
    spec.loader.exec_module(bench)
    # Clips of 3 frames keep RAFT's 128-px flows few; FVD's I3D needs 9 (its own pass).
    others = [n for n in bench.SCORER_NAMES if n != "fvd"]
    results = bench.main(["--tiny", "--frames", "3", "--scorers", ",".join(others)])
    results += bench.main(["--tiny", "--scorers", "fvd"])
    assert [r.scorer for r in results] == [*others, "fvd"]
    assert all(r.ours > 0 and r.bare > 0 and math.isfinite(r.ratio) for r in results)
    out = capsys.readouterr().out
    assert "load average (1, 5, 15 min) at start" in out and "at end" in out
    from metrics import SCORERS, Modality

    video = {n for n, cls in SCORERS if cls.modality == Modality.VIDEO}
    # Every video scorer is benched but the VLM one (its 7B model does not fit a CPU run).
    assert video - set(bench.SCORER_NAMES) <= {"vqascore_video"} | {n for n in video if n.endswith("_worst")}
