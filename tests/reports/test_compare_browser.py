"""``evalsuite compare`` end to end: two real smoke runs with different settings, one report
that opens cleanly in headless Chromium, and refusals that are one line with exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli, run_cli_here
from tests.reports.cdp import Browser, find_chromium

CHROMIUM = find_chromium()

INSPECT = """(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const charts = () => Array.from(document.querySelectorAll("div.chart"));
  // Until drawn, however long a loaded machine takes (the DevTools call's hang guard bounds it).
  while (typeof Plotly !== "undefined" && !charts().every(d => d.querySelector(".main-svg"))) {
    await sleep(100);
  }
  return {
    charts: charts().map(d => ({plotted: d.classList.contains("js-plotly-plot"),
      traces: (d.data || []).length, drawn: d.querySelectorAll(".scatterlayer .point").length,
      text: Array.from(d.querySelectorAll(".legendtext")).map(t => t.textContent)})),
    pairing: document.getElementById("pairing").innerText,
    deltas: document.querySelectorAll("#deltas tr").length,
    points: document.querySelectorAll("#points tr").length,
  };
})()"""


@pytest.fixture(scope="module")
def other_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke suite with other settings: fewer prompts, one other threshold, no noise floor."""
    text = (REPO / "evalsuite" / "suites" / "smoke.toml").read_text()
    text = (text.replace('name = "smoke"', 'name = "smoke-other"')
            .replace("threshold = [0.05, 0.08, 0.12]", "threshold = [0.1]")
            .replace("noise_floor = true", "noise_floor = false")
            .replace("seeds = [0]", "seeds = [0]\nlimit = 5")
            .replace("warmup = 1", "warmup = 1\ndrift_images = 0\ntrace_images = 0"))  # not compared
    folder = tmp_path_factory.mktemp("other")
    (folder / "other.toml").write_text(text)
    proc = run_cli_here("run", str(folder / "other.toml"), "--out", str(folder / "run"))
    assert proc.returncode == 0, proc.stderr
    return folder / "run"


@pytest.mark.slow
def test_two_runs_one_report(smoke_run: Path, other_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    proc = run_cli("compare", str(smoke_run), str(other_run), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "compare.json").read_text())
    pairing = result["pairing"]
    assert pairing["n_keys"] == 5 and pairing["common_baseline"]  # the intersection: 5 of 8 prompts
    assert "5 (prompt, seed) pairs" in proc.stdout
    labels = {p["label"] for p in result["points"]}
    assert len(labels) == 6  # 4 variants of the smoke run, 2 of the other (both folders are "run")
    assert {lab.rsplit("/", 1)[1] for lab in labels} == {"baseline", "fbcache-0.05", "fbcache-0.08",
                                                         "fbcache-0.12", "fbcache-0.1"}
    assert any(d["variant"] == "baseline" for d in result["deltas"])  # the other run's own baseline
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    browser = Browser(CHROMIUM)
    try:
        page = browser.evaluate(browser.open((out / "index.html").resolve().as_uri()), INSPECT)
        assert browser.errors() == []
    finally:
        browser.close()
    assert page["charts"] and all(c["plotted"] and c["traces"] and c["drawn"] for c in page["charts"])
    assert all(len(c["text"]) == 3 for c in page["charts"])  # the front + one trace per run
    assert "intersection" in page["pairing"] and page["deltas"] > 1 and page["points"] == 1 + len(labels)


def test_refusals_are_one_line_exit_2(smoke_run: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-model"
    shutil.copytree(smoke_run, other, ignore=shutil.ignore_patterns("images", "report"))
    suite = other / "suite.toml"
    suite.write_text(suite.read_text().replace('id = "tiny"', 'id = "someone/else"'))
    for args, words in (((str(smoke_run), str(other)), "different models"),
                        ((str(smoke_run),), "at least two"),
                        ((str(smoke_run), str(tmp_path)), "not a finished run folder")):
        proc = run_cli("compare", *args, "--out", str(tmp_path / "cmp"))
        assert proc.returncode == 2, proc.stderr
        assert words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
