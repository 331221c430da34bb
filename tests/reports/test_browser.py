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
  const charts = () => Array.from(document.querySelectorAll("div.chart"));
  // Charts draw during load; poll a bounded number of ticks (a count, not a clock, so a slow
  // machine only stretches it) and stop at once when plotly.js never loaded.
  for (let i = 0; i < 300 && typeof Plotly !== "undefined"
       && !charts().every(d => d.querySelector(".main-svg")); i++) await sleep(100);
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
