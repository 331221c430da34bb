"""The HTML report: escaping of user strings, charts, gallery thumbnails, recommendation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from reports.gallery import THUMB_SIZE, image_loss, thumb_path
from reports.html import _ENV, build_charts
from reports.metric_card import MetricRow
from reports.metric_info import MetricInfo
from reports.records import Recommendation, Rejection
from reports.summary_records import Summary
from tests.reports._synthetic import render_synthetic

EVIL_PROMPT = '<script>window.__xss = 1</script> "quoted" & {i}'
EVIL_NAME = '<img src=x onerror="window.__xss=2">'
REC = Recommendation(EVIL_NAME, "latency", 1.0, "fastest <b>", ("quality drop <= 0.2",), "ci",
                     (Rejection("fbc-0.2", "quality drop 0.6 > 0.2 </li><script>x()</script>"),))


@pytest.fixture(scope="module")
def evil(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Summary, list]:
    run = tmp_path_factory.mktemp("evil")
    return render_synthetic(run, recommendation=REC, prompt_text=EVIL_PROMPT, names={"v-1": EVIL_NAME},
                            categories=("<b>cat</b>", "text"), n_prompts=6)


def test_autoescape_is_on_for_the_template() -> None:
    assert _ENV.autoescape("index.html.j2") is True  # type: ignore[operator]


def test_user_strings_reach_the_html_escaped(evil: tuple[Path, Summary, list]) -> None:
    html = evil[0].read_text()
    assert "<script>window.__xss" not in html and "<img src=x" not in html
    assert "<script>x()" not in html and "<b>cat</b>" not in html and "fastest <b>" not in html
    # plotly.min.js and the page's own: JSON inside the script escapes <, > and &, so no
    # string can close it early.
    assert len(re.findall(r"<script\b", html)) == 2 and html.count("</script>") == 2
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html


def test_every_chart_has_data_and_names_are_escaped_for_plotly(evil: tuple[Path, Summary, list]) -> None:
    charts = build_charts(evil[1])
    sections = [c["section"] for c in charts]
    assert sections.count("pareto") == 2 * 4 and sections.count("speedup") == 4
    assert sections.count("categories") == 3 and sections.count("telemetry") == 1  # no set metric
    for c in charts:
        assert any(len(t.get("x") or []) for t in c["figure"]["data"]), c["id"]
    text = json.dumps([c["figure"] for c in charts])
    assert "<img" not in text and "&lt;img src=x" in text


def test_gallery_uses_thumbnails_not_full_images(evil: tuple[Path, Summary, list]) -> None:
    path, _, rows = evil
    html = path.read_text()
    assert "data:image" not in html
    thumbs = re.findall(r'<img src="([^"]+)"', html)
    assert len(thumbs) == len(rows) * len(rows[0]["cells"]) == 6 * 2 * 5
    for src in thumbs:
        assert src.startswith("thumbs/") and src.endswith(".jpg")
    for cell in rows[0]["cells"]:
        with Image.open(path.parent / cell["thumb"]) as im:
            assert max(im.size) <= THUMB_SIZE
    assert re.findall(r'<a href="(\.\./images/[^"]+\.png)"', html)


def test_gallery_rows_know_the_worst_variant(evil: tuple[Path, Summary, list]) -> None:
    rows = evil[2]
    for row in rows:
        assert row["worst"]["quality"]["variant"] == "fbc-0.2"  # the largest true drop
        noise = row["cells"][-1]
        assert noise["role"] == "noise_floor" and noise["losses"]["quality"] is not None
    assert image_loss(MetricInfo(True, "paired", None), 30.0, None) == -30.0  # PSNR: lowest first
    assert thumb_path("images/a b-1/p-0.png") == "thumbs/a b-1/p-0.jpg"


def test_recommendation_and_noise_floor_are_shown(evil: tuple[Path, Summary, list]) -> None:
    html = evil[0].read_text()
    assert 'id="recommendation"' in html and "Recommended:" in html and "rejected" in html
    assert 'id="noise-floor"' in html and "seed noise" in html


def test_no_recommendation_says_how_to_get_one(tmp_path: Path) -> None:
    html = render_synthetic(tmp_path, n_prompts=3)[0].read_text()
    assert 'id="recommendation"' in html and "[[report.budget]]" in html


def test_reports_is_a_leaf_package() -> None:
    import subprocess
    import sys

    code = ("import sys, reports.html, reports.export, reports.recommend, reports.gallery\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('evalsuite', 'metrics', 'prompts'))\n"
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_selector_marks_what_the_metric_card_found(tmp_path: Path) -> None:
    # Issue 18, 4.3: the charts opened on the first metric even when the card showed that it
    # reads noise as quality, so its Pareto front crowned the most damaged variant.
    from reports.html import render_report
    from reports.metric_card import card_json, paired_cell, per_image_cell

    original = {("p0", 0): 10.0}
    quality = MetricRow("quality", "per-image", True, 1.0, (
        per_image_cell("blur-1", original, {("p0", 0): 4.0}, 1.0),
        per_image_cell("noise-5", original, {("p0", 0): 190.0}, 1.0)))
    ssim = MetricRow("ssim", "paired", True, 0.6, (
        paired_cell("blur-1", {("p0", 0): 0.8}, 1.0, 0.6),
        paired_cell("noise-5", {("p0", 0): 1.0}, 1.0, 0.6)))
    card = card_json([quality, ssim], {"blur-1": "blur", "noise-5": "noise"}, images=1, caveat="proxies")
    _, summary, rows = render_synthetic(tmp_path, n_prompts=3)
    html = render_report(summary, tmp_path / "card", gallery=rows, card=card).read_text()
    select = html[html.index('<select id="metric-choice">'):]
    select = select[:select.index("</select>")]
    options = dict(re.findall(r'<option value="(\w+)"[^>]*>([^<]*)</option>', select))
    assert options["quality"] == "quality – rises with noise"
    assert options["ssim"] == "ssim – blind to noise"
    assert options["cmmd"] == "cmmd – not on the metric card"
    assert '<option value="ssim" selected>' in select and select.count("selected") == 1
    plain = render_report(summary, tmp_path / "plain", gallery=rows).read_text()
    assert '<option value="quality" selected>quality</option>' in plain  # no card: suite order
