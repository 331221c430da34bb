"""The report page's outline: every heading has something under it, and none is repeated."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

from reports.calibration import Calibration
from reports.frontier import StepsFrontier
from reports.html import render_report
from tests.reports._synthetic import render_synthetic

HEADINGS = {"h1", "h2", "h3", "h4"}


class _Outline(HTMLParser):
    """Headings in page order, each with whether anything (text or element) follows it
    before the next heading."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[list] = []  # [tag, text, has content under it]
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in HEADINGS:
            self._in = tag
            self.headings.append([tag, "", False])
        elif self.headings and self._in is None and tag not in ("br", "span"):
            self.headings[-1][2] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if not self.headings:
            return
        if self._in:
            self.headings[-1][1] += data
        elif data.strip():
            self.headings[-1][2] = True


def outline(html: str) -> list[tuple[str, str, bool]]:
    parser = _Outline()
    parser.feed(html)
    return [(tag, " ".join(text.split()), body) for tag, text, body in parser.headings]


def assert_well_formed(html: str) -> list[str]:
    heads = outline(html)
    empty = [text for _, text, body in heads if not body]
    assert not empty, f"headings with nothing under them: {empty}"
    texts = [text for _, text, _ in heads]
    assert len(texts) == len(set(texts)), f"repeated headings: {texts}"
    return texts


def test_speedup_charts_sit_under_one_heading_among_every_section(tmp_path: Path) -> None:
    # Issue 18, 4.2: an empty "Speedup against quality" heading, then the frontier and
    # calibration sections, then the same heading again with the charts.
    _, summary, rows = render_synthetic(tmp_path, n_prompts=4)
    full = replace(summary, calibration=Calibration(2), steps_frontier=StepsFrontier("paired", "rule"))
    html = render_report(full, tmp_path / "report", gallery=rows).read_text()
    texts = assert_well_formed(html)
    assert {"Better than fewer steps?", "Cache traces and calibration"} <= set(texts)
    speedup = html.index("Speedup against quality")
    assert html.index('id="charts-speedup"') > speedup
    assert html.find("<h", speedup) > html.index('id="charts-speedup"')  # no heading in between
    bare = render_report(summary, tmp_path / "bare", gallery=rows).read_text()
    assert_well_formed(bare)


def test_the_smoke_report_outline(smoke_run: Path) -> None:
    texts = assert_well_formed((smoke_run / "report" / "index.html").read_text())
    assert texts.count("Speedup against quality") == 1
