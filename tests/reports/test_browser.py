"""The report in a real browser: headless Chromium opens report/index.html from file://.

Asserts what a user would notice: no console errors, every plotly chart drawn with data,
every gallery image loaded, the recommendation visible, the gallery sortable, and no
script from a prompt or variant name ever running. Chromium is driven over its DevTools
pipe (tests/reports/cdp.py), so no Python package beyond the standard library is needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reports.records import Recommendation
from tests.reports._synthetic import render_synthetic
from tests.reports.cdp import Browser, find_chromium

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install "
                       "chromium); the browser test of the HTML report needs it"),
]

# Runs inside the page after its load event.
INSPECT = """(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  // The charts of the chosen metric (the others stay hidden and undrawn until chosen).
  const charts = () => Array.from(document.querySelectorAll("div.chart"))
      .filter(d => d.style.display !== "none");
  // Charts draw during load: wait until they have, however long a loaded machine takes (the
  // DevTools call's hang guard bounds it), and stop at once when plotly.js never loaded.
  while (typeof Plotly !== "undefined" && !charts().every(d => d.querySelector(".main-svg"))) {
    await sleep(100);
  }
  // Gallery images are lazy; load them all, as scrolling through the page would.
  for (const img of document.images) img.loading = "eager";
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
      new Promise(r => { img.addEventListener("load", r); img.addEventListener("error", r); })));
  const rec = document.getElementById("recommendation");
  const select = document.getElementById("gallery-sort");
  select.value = "loss-0"; select.dispatchEvent(new Event("change"));
  const losses = Array.from(document.querySelectorAll("#gallery tbody tr"))
      .map(r => r.getAttribute("data-loss-0")).map(v => v ? parseFloat(v) : null);
  return {
    charts: charts().map(d => ({id: d.id, plotted: d.classList.contains("js-plotly-plot"),
      traces: (d.data || []).length,
      values: (d.data || []).reduce((n, t) => n + (t.y || []).filter(y => y !== null).length, 0),
      drawn: d.querySelectorAll(".scatterlayer .point").length})),
    images: Array.from(document.images).map(i => ({src: i.getAttribute("src"),
      ok: i.complete && i.naturalWidth > 0})),
    rec: rec && {text: rec.innerText,
                 visible: rec.offsetHeight > 0 && getComputedStyle(rec).display !== "none"},
    losses: losses,
    xss: window.__xss === undefined ? null : window.__xss,
    scripts: document.scripts.length,
  };
})()"""


@pytest.fixture
def browser() -> Iterator[Browser]:
    b = Browser(CHROMIUM or "chromium")
    yield b
    b.close()


def inspect(browser: Browser, html: Path) -> dict[str, Any]:
    session = browser.open(html.resolve().as_uri())
    return browser.evaluate(session, INSPECT)


def assert_page_is_sound(browser: Browser, page: dict[str, Any]) -> None:
    assert browser.errors() == []
    assert page["charts"], "no charts"
    for c in page["charts"]:
        assert c["plotted"] and c["traces"] and c["values"] and c["drawn"], c
    assert page["images"] and all(i["ok"] for i in page["images"]), [i for i in page["images"] if not i["ok"]]
    assert page["rec"] and page["rec"]["visible"]
    finite = [x for x in page["losses"] if x is not None]
    assert finite == sorted(finite, reverse=True)  # sorted by the largest drop first


def test_smoke_report_in_chromium(browser: Browser, smoke_run: Path) -> None:
    page = inspect(browser, smoke_run / "report" / "index.html")
    assert_page_is_sound(browser, page)
    summary = json.loads((smoke_run / "summary.json").read_text())
    rec = summary["recommendation"]
    assert rec and rec["variant"] and f"Recommended: {rec['variant']}" in page["rec"]["text"]
    n_variants = len(summary["variants"]) + (1 if summary["noise_floor"] else 0)
    assert len(page["images"]) == n_variants * summary["variants"][0]["samples"]["expected"]


def test_hostile_strings_never_run(browser: Browser, tmp_path: Path) -> None:
    rec = Recommendation("<img src=x onerror=window.__xss=3>", "latency", 1.0,
                         "<script>window.__xss=4</script>", ("q",))
    html, _, _ = render_synthetic(tmp_path, recommendation=rec, n_prompts=4,
                                  prompt_text="<script>window.__xss=1</script>{i}",
                                  names={"v-0": '<img src=x onerror="window.__xss=2">'},
                                  categories=("<svg onload=window.__xss=5>",))
    page = inspect(browser, html)
    assert page["xss"] is None and page["scripts"] == 2
    assert_page_is_sound(browser, page)
    assert "<script>window.__xss=4</script>" in page["rec"]["text"]  # shown as text


# Many metrics: the reader picks one for the charts; labels of crowded points go to hover.
MANY = """(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const visible = () => Array.from(document.querySelectorAll("div.chart"))
      .filter(d => d.style.display !== "none");
  const drawn = () => visible().every(d => d.querySelector(".main-svg"));
  // Until drawn (the DevTools call's hang guard bounds the wait), not for a number of ticks.
  while (typeof Plotly !== "undefined" && !drawn()) await sleep(100);
  const first = document.querySelector("h2 + table");
  const before = visible().map(d => d.dataset.metric || "");
  const total = document.querySelectorAll("div.chart").length;
  const choice = document.getElementById("metric-choice");
  choice.value = choice.options[choice.options.length - 1].value;
  choice.dispatchEvent(new Event("change"));
  while (typeof Plotly !== "undefined" && !drawn()) await sleep(100);
  const pareto = visible().filter(d => d.closest("#charts-pareto"));
  return {
    firstTable: first && first.id, headers: first ? first.rows[0].cells.length : 0,
    rows: first ? first.rows.length : 0, marks: first ? first.innerText : "",
    options: Array.from(choice.options).map(o => o.value), before: before, total: total,
    after: visible().map(d => d.dataset.metric || ""), chosen: choice.value,
    plotted: visible().every(d => d.classList.contains("js-plotly-plot")),
    modes: pareto.flatMap(d => (d.data || []).filter(t => t.type === "scatter" && t.name !== "Pareto front")
        .map(t => t.mode)),
    texts: document.querySelectorAll("#charts-pareto .textpoint").length,
  };
})()"""


def test_many_metrics_one_table_a_metric_chooser_and_hover_labels(browser: Browser, tmp_path: Path) -> None:
    from dataclasses import replace

    from reports.metric_info import MetricInfo

    def extra_metrics(kw: dict[str, Any]) -> dict[str, Any]:
        extra = {f"q{i}": MetricInfo(i % 2 == 0, "per-image", None) for i in range(8)}
        scores = list(kw["scores"]) + [replace(s, metric=f"q{i}", value=s.value * (1 + i / 10))
                                       for s in kw["scores"] if s.metric == "quality" for i in range(8)]
        return {**kw, "metrics": {**kw["metrics"], **extra}, "scores": scores}

    thresholds = (0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14)
    html, summary, _ = render_synthetic(tmp_path, n_prompts=6, seeds=(0,), thresholds=thresholds,
                                        drops=tuple(0.01 * i for i in range(7)), transform=extra_metrics)
    assert len(summary.metrics) == 12
    session = browser.open(html.resolve().as_uri())
    page = browser.evaluate(session, MANY)
    assert browser.errors() == []
    # One table opens the report: every variant (and the seed-noise row) against every metric.
    assert page["firstTable"] == "verdicts" and page["headers"] == 3 + 12
    assert page["rows"] == 1 + 1 + len(thresholds) + 1 and "▼" in page["marks"]
    # The charts follow the chosen metric instead of repeating per metric.
    assert page["options"] == list(summary.metrics) and page["total"] > 4 * 4
    metric_charts = [m for m in page["before"] if m]
    assert set(metric_charts) == {page["options"][0]} and len(metric_charts) <= 5  # one per section
    assert set(m for m in page["after"] if m) == {page["chosen"]} == {page["options"][-1]}
    assert page["plotted"]
    # Nine variants crowd a chart: names go to hover, no text labels are drawn.
    assert page["modes"] and all(m == "markers" for m in page["modes"]) and page["texts"] == 0


# A video report: the clips play, lazily, with their posters (issue 20, 5).
CLIPS = """(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const rows = Array.from(document.querySelectorAll("#gallery tbody tr"));
  const videos = Array.from(document.querySelectorAll("#gallery video"));
  const loads = src => new Promise(r => { const i = new Image();
      i.onload = () => r(i.naturalWidth > 0); i.onerror = () => r(false); i.src = src; });
  const clips = row => Array.from(row.querySelectorAll("video"));
  const playing = row => clips(row).every(v => !v.paused && v.readyState >= 2 && v.videoWidth > 0);
  // Until they play (the DevTools call's hang guard bounds the wait), never for a set time.
  const show = async row => { row.scrollIntoView(); while (!playing(row)) await sleep(50); };
  const first = rows[0], last = rows[rows.length - 1];
  const out = {videos: videos.length, rows: rows.length,
    attrs: videos.every(v => v.muted && v.loop && v.getAttribute("preload") === "none" && v.poster),
    posters: (await Promise.all(videos.map(v => loads(v.poster)))).every(ok => ok),
    loadedAtOpen: videos.filter(v => v.readyState > 0).length};
  await show(first);
  out.lastBeforeScroll = clips(last).map(v => v.readyState);
  await show(last);
  await sleep(0);
  out.firstPausedAfter = rows.length > 2 ? clips(first).every(v => v.paused) : true;
  out.width = clips(last)[0].videoWidth;
  return out;
})()"""


def test_a_video_report_plays_its_clips_beside_the_baselines(browser: Browser, video_run: Path) -> None:
    page = browser.evaluate(browser.open((video_run / "report" / "index.html").resolve().as_uri()), CLIPS)
    assert browser.errors() == []
    summary = json.loads((video_run / "summary.json").read_text())
    assert page["videos"] == len(summary["variants"]) * page["rows"] and page["attrs"] and page["posters"]
    assert page["loadedAtOpen"] == 0 and page["width"] == 32  # nothing loads before it plays


def test_twenty_variants_of_clips_load_only_the_rows_in_view(browser: Browser, tmp_path: Path) -> None:
    from evalsuite.store.clips import mp4_bytes
    from tests.reports._synthetic import as_clips

    frames = np.zeros((9, 32, 32, 3), np.uint8)
    frames[:, :, :, 1] = np.arange(9, dtype=np.uint8)[:, None, None] * 25
    mp4 = mp4_bytes(frames, 8)
    thresholds = tuple(0.01 * (i + 1) for i in range(19))
    html, summary, _ = render_synthetic(tmp_path, n_prompts=10, seeds=(0,), thresholds=thresholds,
                                        noise=False, drops=tuple(0.01 * i for i in range(19)),
                                        transform=lambda kw: as_clips(kw, tmp_path, mp4))
    assert len(summary.variants) == 20 and all(v.clip_s == 9 / 8 for v in summary.variants)
    page = browser.evaluate(browser.open(html.resolve().as_uri()), CLIPS)
    assert browser.errors() == []
    assert page["videos"] == 200 and page["attrs"] and page["posters"] and page["loadedAtOpen"] == 0
    assert page["lastBeforeScroll"] == [0] * 20  # a row out of view has loaded nothing
    assert page["firstPausedAfter"] and page["width"] == 32
    assert html.stat().st_size < 1_000_000
