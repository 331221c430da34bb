"""Plotly figures for the report: quality against latency and against cost, per metric."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from reports.summary import quality_of


def _axis_value(v: Mapping[str, Any], axis: str) -> float | None:
    if axis == "latency":
        return v["latency_s"]["p50"] if v["latency_s"] else None
    return v["cost_per_image_usd"]


def pareto_figure(summary: Mapping[str, Any], metric: str, axis: str) -> go.Figure:
    """Scatter of every completed variant, Pareto members joined by the front line."""
    info = summary["metrics"][metric]
    pts = []
    for v in summary["variants"]:
        x = _axis_value(v, axis)
        q = quality_of(v, metric, info)
        if v["status"] != "ok" or x is None or q != q:  # q != q: NaN
            continue
        pts.append((v, x, q))
    # A paired metric's baseline sits at the ideal; PSNR's ideal is infinite, so plot the
    # baseline on the best finite value seen instead of dropping it from the chart.
    finite = [q for _, _, q in pts if abs(q) != float("inf")]
    best = (max(finite) if info["higher_is_better"] else min(finite)) if finite else 0.0
    pts = [(v, x, q if abs(q) != float("inf") else best) for v, x, q in pts]
    fig = go.Figure()
    on_front = [(v, x, q) for v, x, q in pts if v["pareto"].get(metric, {}).get(axis)]
    on_front.sort(key=lambda t: t[1])
    fig.add_trace(go.Scatter(
        x=[x for _, x, _ in on_front], y=[q for _, _, q in on_front], mode="lines",
        line={"dash": "dot", "color": "#888"}, name="Pareto front", hoverinfo="skip"))
    for members, name, symbol in ((True, "Pareto member", "star"), (False, "dominated", "circle")):
        sel = [(v, x, q) for v, x, q in pts if bool(v["pareto"].get(metric, {}).get(axis)) == members]
        fig.add_trace(go.Scatter(
            x=[x for _, x, _ in sel], y=[q for _, _, q in sel], mode="markers+text",
            text=[v["name"] for v, _, _ in sel], textposition="top center", name=name,
            marker={"size": 12 if members else 9, "symbol": symbol}))
    xlabel = "latency p50 (s)" if axis == "latency" else "cost per image (USD)"
    arrow = "higher is better" if info["higher_is_better"] else "lower is better"
    fig.update_layout(title=f"{metric} vs {xlabel}", xaxis_title=xlabel,
                      yaxis_title=f"{metric} ({arrow})", height=380,
                      margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return fig
