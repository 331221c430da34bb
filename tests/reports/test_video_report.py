"""A video run's summary and page (issue 20, 5): costs per clip and per second of video, their
Pareto fronts, and each expert's steps; the players themselves are tested in Chromium
(tests/reports/test_browser.py)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from reports.html import build_charts
from reports.summary import build_summary, summary_from_json, summary_to_json
from tests.reports._synthetic import synthetic_kwargs


def _clips(kw: dict, lengths: dict[str, float]) -> dict:
    """Every variant makes clips of ``lengths[name]`` seconds (default 1 s)."""
    return {**kw, "variants": [replace(v, clip_s=lengths.get(v.name, 1.0)) for v in kw["variants"]]}


def test_cost_per_second_of_video_has_its_own_front() -> None:
    # fbc-0.2 is the cheapest per clip, fbc-0.1 makes clips 4x as long: per second it is cheaper.
    kw = _clips(synthetic_kwargs(noise=False, drops=(0.0, 0.03, 0.5)), {"fbc-0.1": 4.0})
    s = build_summary(**kw)
    by = {v.name: v for v in s.variants}
    for v in s.variants:
        assert v.cost_per_video_second_usd == v.cost_per_image_usd / v.clip_s
    assert by["fbc-0.1"].cost_per_video_second_usd < by["fbc-0.2"].cost_per_video_second_usd
    assert by["fbc-0.1"].pareto["psnr"].cost_per_second and not by["fbc-0.2"].pareto["psnr"].cost_per_second
    assert by["fbc-0.2"].pareto["psnr"].cost  # cheapest per clip: on the per-clip front
    assert summary_from_json(json.loads(json.dumps(summary_to_json(s)))) == s
    titles = [c["figure"]["layout"]["title"]["text"] for c in build_charts(s) if c["section"] == "pareto"]
    assert "psnr vs cost per second of video (USD)" in titles and "psnr vs latency per clip p50 (s)" in titles


def test_an_image_run_has_no_video_costs() -> None:
    s = build_summary(**synthetic_kwargs(noise=False))
    assert all(v.clip_s is None and v.cost_per_video_second_usd is None for v in s.variants)
    assert all(not e.cost_per_second for v in s.variants for e in v.pareto.values())
    titles = [c["figure"]["layout"]["title"]["text"] for c in build_charts(s)]
    assert not any("second of video" in t for t in titles) and "psnr vs cost per image (USD)" in titles


def test_a_video_report_shows_each_experts_steps_and_costs_per_clip(video_run: Path) -> None:
    summary = json.loads((video_run / "summary.json").read_text())
    fbc = next(v for v in summary["variants"] if v["name"] == "fbcache")
    assert fbc["clip_s"] == 9 / 16 and fbc["cost_per_video_second_usd"] > 0  # tiny-wan22: 9 frames at 16 fps
    html = (video_run / "report" / "index.html").read_text()
    table = re.search(r'<table id="experts">(.*?)</table>', html, re.S).group(1)
    row = re.search(r'<td class="name">fbcache</td>(.*?)</tr>', table, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    t1, t2 = fbc["experts"]["transformer"], fbc["experts"]["transformer_2"]
    assert cells[0] == f"{t1['computed']} / {t1['skipped']}" and cells[1].endswith("inert")  # nothing to skip
    assert cells[2] == f"{t2['computed']} / {t2['skipped']}" and t2["skipped"] > 0
    assert "$ / 1000 clips" in html and "$/s of video" in html and "$ / 1000 images" not in html
