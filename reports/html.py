"""Render ``report/index.html`` from a summary: offline (plotly.js written beside it).

Jinja2 autoescaping is on for the template, and data for scripts goes through ``tojson``
(which escapes ``<``, ``>``, ``&`` and ``'``), so prompts and variant names from users can
never become markup or script. Nothing here is marked ``safe`` by hand.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs

from reports.charts import pareto_figure, speedup_figure
from reports.charts_more import category_figure, telemetry_figure, telemetry_params
from reports.equal_work_chart import equal_work_figure
from reports.files import write_atomic
from reports.gallery import url
from reports.jsonio import to_json
from reports.metric_card import card_findings, chart_metric
from reports.metric_stats import NOISE, SAME
from reports.records import Recommendation
from reports.summary_records import Summary

_ENV = Environment(loader=PackageLoader("reports", "templates"),
                   autoescape=select_autoescape(["html", "j2"]))
MARKS = {"indistinguishable": "≈", "within seed noise": "~", "worse": "▼", "better": "▲",
         "reference": "ref"}
PLOTLY_JS = "plotly.min.js"


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "∞" if value > 0 else "-∞"
        return f"{value:.{digits}g}"
    return str(value)


def _ci(pair: Sequence[Any] | None, digits: int = 3) -> str:
    return "" if not pair else f"[{_fmt(pair[0], digits)}, {_fmt(pair[1], digits)}]"


_ENV.filters["fmt"] = _fmt
_ENV.filters["ci"] = _ci
_ENV.filters["mark"] = lambda verdict: MARKS.get(verdict or "", "")
_ENV.filters["url"] = url
SPEED_MARKS = {"indistinguishable": "≈", "within drift": "~", "faster": "▲", "slower": "▼"}
_ENV.filters["speedmark"] = lambda verdict: SPEED_MARKS.get(verdict or "", "")


def build_charts(summary: Summary) -> list[dict[str, Any]]:
    """Every chart of the report as {id, section, metric, figure (plotly JSON)}."""
    charts: list[dict[str, Any]] = []

    def add(section: str, metric: str, fig: Any) -> None:
        if fig is not None:
            charts.append({"id": f"chart-{len(charts)}", "section": section, "metric": metric,
                           "figure": json.loads(fig.to_json())})

    for metric in summary.metrics:
        add("pareto", metric, pareto_figure(summary, metric, "latency"))
        add("pareto", metric, pareto_figure(summary, metric, "cost"))
        if any(v.cost_per_video_second_usd is not None for v in summary.variants):  # clips
            add("pareto", metric, pareto_figure(summary, metric, "cost_per_second"))
        if any(v.energy and v.energy.j_per_image is not None for v in summary.variants):
            add("pareto", metric, pareto_figure(summary, metric, "energy"))
        add("speedup", metric, speedup_figure(summary, metric))
        add("categories", metric, category_figure(summary, metric))
        add("equal_work", metric, equal_work_figure(summary, metric))
    for param in telemetry_params(summary):
        add("telemetry", "", telemetry_figure(summary, param))
    return charts


def indistinguishable(summary: Summary) -> dict[str, list[str] | None]:
    """Metric -> variants indistinguishable from the baseline or within seed noise on it
    (None: the metric has no test, like PSNR); key ``""``: those that are on every tested
    metric."""
    out: dict[str, list[str] | None] = {}
    ok = [v for v in summary.variants if not v.is_baseline and v.status == "ok"]
    for m in summary.metrics:
        tested = [v for v in ok if m in v.metrics and v.metrics[m].verdict]
        same = [v.name for v in tested if v.metrics[m].verdict in (SAME, NOISE)]
        out[m] = same if tested else None
    every = []
    for v in ok:
        verdicts = [e.verdict for e in v.metrics.values() if e.verdict]
        if verdicts and all(vd in (SAME, NOISE) for vd in verdicts):
            every.append(v.name)
    out[""] = every
    return out


def ensure_plotly(out_dir: Path) -> bool:
    """Write ``plotly.min.js`` unless the one there is whole; True if it was (re)written.

    A report folder from a killed run may hold an empty or truncated copy, and no chart
    draws without it, so the copy is checked against plotly's own (size, then SHA-256).
    """
    expected = get_plotlyjs().encode("utf-8")
    js = out_dir / PLOTLY_JS
    try:
        if js.stat().st_size == len(expected) and \
                hashlib.sha256(js.read_bytes()).digest() == hashlib.sha256(expected).digest():
            return False
    except OSError:
        pass
    write_atomic(js, expected)
    return True


def render_report(summary: Summary, out_dir: Path, recommendation: Recommendation | None = None,
                  gallery: Sequence[Any] | None = None, card: Mapping[str, Any] | None = None,
                  geneval: Mapping[str, Any] | None = None) -> Path:
    """Write ``index.html`` and ``plotly.min.js`` into ``out_dir``; return the HTML path.

    Every write is atomic, and a broken ``plotly.min.js`` is repaired.

    Args:
        summary: the built summary.
        out_dir: the report folder (thumbnails, if any, are already under ``thumbs/``).
        recommendation: shown instead of ``summary.recommendation`` when given.
        gallery: rows from :func:`reports.gallery.gallery_rows`.
        card: the metric sensitivity card (``metric_card.json``), shown as a section if given;
            its findings are marked in the chart selector, which opens on a metric it trusts.
        geneval: GenEval's task scores and overall score per variant, if the run scored it.
    """
    ensure_plotly(out_dir)
    per_image = [m for m, i in summary.metrics.items() if i.kind != "set"]
    # With a card, the chart selector says what it found and opens on a metric it trusts.
    findings = card_findings(list(summary.metrics), card) if card else {}
    html = _ENV.get_template("index.html.j2").render(
        s=summary, charts=to_json(build_charts(summary), nonfinite="null"),
        rec=recommendation or summary.recommendation, gallery=gallery or [],
        gallery_metrics=per_image, same=indistinguishable(summary), marks=MARKS, card=card, geneval=geneval,
        findings=findings, chart_metric=chart_metric(list(summary.metrics), findings))
    return write_atomic(out_dir / "index.html", html)
