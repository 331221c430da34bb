"""Render ``report/index.html`` from a summary: offline (plotly.js written beside it).

Jinja2 autoescaping is on for the template, and data for scripts goes through ``tojson``
(which escapes ``<``, ``>``, ``&`` and ``'``), so prompts and variant names from users can
never become markup or script. Nothing here is marked ``safe`` by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs

from reports.charts import pareto_figure, speedup_figure
from reports.charts_more import category_figure, telemetry_figure
from reports.gallery import url
from reports.metric_stats import NOISE, SAME

_ENV = Environment(loader=PackageLoader("reports", "templates"),
                   autoescape=select_autoescape(["html", "j2"]))
MARKS = {"indistinguishable": "≈", "within seed noise": "~", "worse": "▼", "better": "▲",
         "reference": "ref"}


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, str) and value in ("inf", "-inf"):
        value = float(value)
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


def _clean(obj: Any) -> Any:
    """JSON for the page's scripts: JavaScript's JSON.parse has no NaN or Infinity."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def build_charts(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every chart of the report as {id, section, metric, figure (plotly JSON)}."""
    charts: list[dict[str, Any]] = []

    def add(section: str, metric: str, fig: Any) -> None:
        if fig is not None:
            charts.append({"id": f"chart-{len(charts)}", "section": section, "metric": metric,
                           "figure": json.loads(fig.to_json())})

    for metric in summary["metrics"]:
        add("pareto", metric, pareto_figure(summary, metric, "latency"))
        add("pareto", metric, pareto_figure(summary, metric, "cost"))
        add("speedup", metric, speedup_figure(summary, metric))
        add("categories", metric, category_figure(summary, metric))
    add("telemetry", "", telemetry_figure(summary))
    return charts


def indistinguishable(summary: Mapping[str, Any]) -> dict[str, list[str] | None]:
    """Metric -> variants indistinguishable from the baseline or within seed noise on it
    (None: the metric has no test, like PSNR); key ``""``: those that are on every tested
    metric."""
    out: dict[str, list[str] | None] = {}
    ok = [v for v in summary["variants"] if not v["is_baseline"] and v["status"] == "ok"]
    for m in summary["metrics"]:
        tested = [v for v in ok if v["metrics"][m].get("verdict")]
        same = [v["name"] for v in tested if v["metrics"][m]["verdict"] in (SAME, NOISE)]
        out[m] = same if tested else None
    every = []
    for v in ok:
        verdicts = [e.get("verdict") for e in v["metrics"].values() if e.get("verdict")]
        if verdicts and all(vd in (SAME, NOISE) for vd in verdicts):
            every.append(v["name"])
    out[""] = every
    return out


def render_report(summary: Mapping[str, Any], out_dir: Path,
                  recommendation: Mapping[str, Any] | None = None,
                  gallery: Sequence[Mapping[str, Any]] | None = None) -> Path:
    """Write ``index.html`` and ``plotly.min.js`` into ``out_dir``; return the HTML path.

    Args:
        summary: the built summary.
        out_dir: the report folder (thumbnails, if any, are already under ``thumbs/``).
        recommendation: shown instead of ``summary["recommendation"]`` when given.
        gallery: rows from :func:`reports.gallery.gallery_rows`.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / "plotly.min.js"
    if not js.exists():
        js.write_text(get_plotlyjs(), encoding="utf-8")
    charts = build_charts(summary)
    per_image = [m for m, i in summary["metrics"].items() if i["kind"] != "set"]
    html = _ENV.get_template("index.html.j2").render(
        s=summary, charts=_clean(charts), rec=recommendation or summary.get("recommendation"),
        gallery=gallery or [], gallery_metrics=per_image, same=indistinguishable(summary),
        clean=_clean, marks=MARKS)
    path = out_dir / "index.html"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
