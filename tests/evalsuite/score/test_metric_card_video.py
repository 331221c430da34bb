"""``metric-card`` on a video run (the shared tiny Wan 2.2 run): the baseline's clips degraded
with frame drops, temporal blur, flicker and per-frame JPEG, and which video metric sees each."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest

from evalsuite.score.metric_card import build_card
from evalsuite.store.db import Store
from evalsuite.suite.spec import load_suite
from evalsuite.suite.types import MetricUse
from metrics.degrade import Degradation
from metrics.degrade_video import VIDEO_DEGRADATIONS
from reports.metric_card import card_findings
from tests.conftest import run_cli_here
from tests.evalsuite.score.test_metric_card import cells


@pytest.fixture(scope="module")
def video_copy(video_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("video-card") / "run"
    shutil.copytree(video_run, out)  # the card writes into the run folder
    return out


def test_card_of_a_video_run_degrades_its_clips(video_copy: Path) -> None:
    proc = run_cli_here("metric-card", str(video_copy), "--json")
    assert proc.returncode == 0, proc.stderr
    card = json.loads(proc.stdout)
    assert card["media"] == "clips" and card["images"] == 2
    assert list(card["degradations"]) == [d.name for d in VIDEO_DEGRADATIONS]
    assert "frame drops" in card["caveat"]
    for name, c in cells(card, "psnr_video").items():  # paired: every kind of damage shows
        assert c["n"] == 2 and math.isfinite(c["value"]) and c["inside_floor"] is False, name
    html = (video_copy / "report" / "index.html").read_text()
    assert "The baseline's clips (2) degraded on purpose" in html and 'id="metric-card"' in html


def test_which_video_metric_sees_which_damage(video_copy: Path) -> None:
    suite = load_suite(str(video_copy / "suite.toml"))
    uses = (MetricUse("temporal_flickering"), MetricUse("psnr_video_worst"), MetricUse("ssim_video"))
    suite = dataclasses.replace(suite, metrics=uses)
    picked = [d for d in VIDEO_DEGRADATIONS if d.name in ("drop-2", "flicker-10", "tblur-0.67")]
    untouched = Degradation("none", "no change", lambda clip: clip)
    with Store(video_copy / "results.sqlite") as store:
        card = build_card(suite, video_copy, store, "cpu", degradations=(*picked, untouched),
                          progress=lambda m: None)
    flick = cells(card, "temporal_flickering")
    # Flicker adds frame-to-frame change (worse); a repeated frame removes some (reads as better).
    assert flick["flicker-10"]["response"] < 0 < flick["drop-2"]["response"]
    assert flick["none"]["response"] == 0.0
    for metric in ("psnr_video_worst", "ssim_video"):
        row = cells(card, metric)
        assert all(row[d.name]["inside_floor"] is False for d in picked), metric
        assert row["none"]["inside_floor"] is True, metric  # unmoved: flagged
    # So the card warns: temporal flickering reads stale frames (drops, blur) as an improvement.
    found = card_findings(["temporal_flickering", "ssim_video"], card)
    assert found["temporal_flickering"].notes == ("rises with drop, tblur",)
    assert not found["temporal_flickering"].trusted
    assert found["ssim_video"].notes == ("blind to none",)
