"""Render a cross-run comparison (``compare.json``) as ``index.html``: offline, escaped.

Pareto charts put every run's variants on one plane, one colour per run; points are labelled
``run/variant`` and the hover names the machine. The dotted line is the front across all
runs. User text goes through Jinja2 autoescaping and ``tojson``, never marked safe by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape

from reports.charts import LAYOUT, esc
from reports.files import write_atomic
from reports.html import ensure_plotly

_ENV = Environment(loader=PackageLoader("reports", "templates"),
                   autoescape=select_autoescape(["html", "j2"]))
TITLES = {"latency": "latency p50 (s)", "cost": "cost per image (USD)", "energy": "energy per image (J)"}


def _num(x: Any) -> float | None:
    if isinstance(x, str) and x in ("inf", "-inf"):
        return float(x)
    return float(x) if isinstance(x, int | float) else None


def _fmt(value: Any, digits: int = 4) -> str:
    v = _num(value)
    if v is None:
        return "–"
    return ("∞" if v > 0 else "-∞") if math.isinf(v) else f"{v:.{digits}g}"


_ENV.filters["fmt"] = _fmt
_ENV.filters["ci"] = lambda p, d=3: "" if not p else f"[{_fmt(p[0], d)}, {_fmt(p[1], d)}]"


def cross_run_figure(result: Mapping[str, Any], metric: str, axis: str) -> go.Figure | None:
    """Quality of ``metric`` against ``axis`` for every run's variants; None if no point has both."""
    info = result["metrics"][metric]
    pts = [p for p in result["points"] if _num(p[axis]) is not None
           and _num(p["quality"][metric][0]) is not None]
    finite = [_num(p["quality"][metric][0]) for p in pts if math.isfinite(_num(p["quality"][metric][0]))]
    if not finite:
        return None
    stand_in = max(finite) if info["higher_is_better"] else min(finite)  # PSNR's infinite ideal
    y_of = {p["label"]: (q if math.isfinite(q := _num(p["quality"][metric][0])) else stand_in) for p in pts}
    fig = go.Figure()
    front = [lab for lab in result["fronts"][metric][axis] if lab in y_of]
    by_label = {p["label"]: p for p in pts}
    fig.add_trace(go.Scatter(x=[by_label[lab][axis] for lab in front], y=[y_of[lab] for lab in front],
                             mode="lines", line={"dash": "dot", "color": "#888"}, name="front (all runs)",
                             hoverinfo="skip"))
    for run in dict.fromkeys(p["run"] for p in pts):
        sel = [p for p in pts if p["run"] == run]
        fig.add_trace(go.Scatter(
            x=[p[axis] for p in sel], y=[y_of[p["label"]] for p in sel], mode="markers+text",
            name=esc(f"{run} ({sel[0]['machine']})"), text=[esc(p["variant"]) for p in sel],
            textposition="top center",
            hovertext=[esc(f"{p['label']} on {p['machine']}") for p in sel], hoverinfo="text+x+y",
            marker={"size": [13 if p["label"] in front else 9 for p in sel],
                    "symbol": ["star" if p["label"] in front else "circle" for p in sel]}))
    arrow = "higher is better" if info["higher_is_better"] else "lower is better"
    fig.update_layout(title=f"{esc(metric)} vs {TITLES[axis]}, all runs", xaxis_title=TITLES[axis],
                      yaxis_title=f"{esc(metric)} ({arrow})", **LAYOUT)
    return fig


def build_charts(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every chart as {id, metric, axis, figure (plotly JSON)}."""
    charts = []
    for metric in result["metrics"]:
        for axis in ("latency", "cost", "energy"):
            fig = cross_run_figure(result, metric, axis)
            if fig is not None:
                charts.append({"id": f"chart-{len(charts)}", "metric": metric, "axis": axis,
                               "figure": json.loads(fig.to_json())})
    return charts


def render_compare(result: Mapping[str, Any], out_dir: Path) -> Path:
    """Write ``index.html`` and ``plotly.min.js`` into ``out_dir``; return the HTML path."""
    ensure_plotly(out_dir)  # atomic, and repaired if a killed run left it broken
    charts = build_charts(result)
    energy = any(_num(p["energy"]) is not None for p in result["points"])
    html = _ENV.get_template("compare.html.j2").render(r=result, charts=charts, energy=energy)
    return write_atomic(out_dir / "index.html", html)
