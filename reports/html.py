"""Render ``report/index.html`` from a summary: offline (plotly.js written beside it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs

from reports.charts import pareto_figure

_ENV = Environment(loader=PackageLoader("reports", "templates"),
                   autoescape=select_autoescape(["html", "j2"]))


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


_ENV.filters["fmt"] = _fmt


def render_report(summary: Mapping[str, Any], out_dir: Path,
                  recommendation: Mapping[str, Any] | None = None) -> Path:
    """Write ``index.html`` and ``plotly.min.js`` into ``out_dir``; return the HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / "plotly.min.js"
    if not js.exists():
        js.write_text(get_plotlyjs(), encoding="utf-8")
    charts = []
    for metric in summary["metrics"]:
        for axis in ("latency", "cost"):
            fig = pareto_figure(summary, metric, axis)
            charts.append({"id": f"chart-{metric}-{axis}", "metric": metric, "axis": axis,
                           "figure": json.loads(fig.to_json())})
    html = _ENV.get_template("index.html.j2").render(
        s=summary, charts=charts, recommendation=recommendation)
    path = out_dir / "index.html"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
