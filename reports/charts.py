"""Plotly figures: quality against latency and cost (Pareto), and speedup against quality delta.

Every user-supplied string (variant names) is HTML-escaped before it reaches a figure:
plotly renders a subset of HTML in text and hover labels, so a raw name could inject markup.
"""

from __future__ import annotations

import html
import math
from typing import Any

import plotly.graph_objects as go

from reports.frontier import CurvePoint, reference_curve
from reports.summary import quality_of
from reports.summary_records import Pair, Summary

LAYOUT = {"height": 380, "margin": {"l": 70, "r": 20, "t": 50, "b": 50}}


def esc(text: Any) -> str:
    """Escape a string for plotly text, legend and hover labels."""
    return html.escape(str(text), quote=True)


def finite_ci(ci: Pair | None) -> Pair | None:
    """An interval a chart can draw: both ends finite, else none."""
    return ci if ci and all(math.isfinite(c) for c in ci) else None


def _ci_errors(points: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Asymmetric error bars from each point's [lo, hi] (0 where there is no interval)."""
    if not any(p["ci"] for p in points):
        return None
    plus = [(p["ci"][1] - p["y"]) if p["ci"] else 0.0 for p in points]
    minus = [(p["y"] - p["ci"][0]) if p["ci"] else 0.0 for p in points]
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus, "thickness": 1.2}


# Point labels are drawn beside the markers only while they cannot collide: at most this many
# points, and no two closer than this share of the axis ranges (x and y both).
MAX_LABELLED = 6
MIN_GAP = (0.12, 0.08)


def crowded(xs: list[float], ys: list[float]) -> bool:
    """True when text labels beside these points would overlap (then they go to hover)."""
    if len(xs) > MAX_LABELLED:
        return True
    span_x = (max(xs) - min(xs)) or 1.0 if xs else 1.0
    span_y = (max(ys) - min(ys)) or 1.0 if ys else 1.0
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            if (abs(xs[i] - xs[j]) / span_x < MIN_GAP[0]) and (abs(ys[i] - ys[j]) / span_y < MIN_GAP[1]):
                return True
    return False


def labels(names: list[str], xs: list[float], ys: list[float]) -> dict[str, Any]:
    """Scatter arguments for point names: beside the points, or in hover text when crowded."""
    text = [esc(n) for n in names]
    if crowded(xs, ys):
        return {"mode": "markers", "hovertext": text, "hoverinfo": "text+x+y"}
    return {"mode": "markers+text", "text": text, "textposition": "top center", "hovertext": text}


def _finite_plot_value(values: list[float], higher_is_better: bool) -> float:
    """Stand-in for an infinite value (PSNR of identical images): the best finite one seen."""
    finite = [q for q in values if math.isfinite(q)]
    return (max(finite) if higher_is_better else min(finite)) if finite else 0.0


def pareto_figure(summary: Summary, metric: str, axis: str) -> go.Figure:
    """Quality (mean, 95% CI bars) against latency p50 (p90 whiskers), cost per image (or clip),
    energy, or (clips) the cost of one second of video.

    Pareto members are stars joined by the dotted front line; dominated variants are dots.
    """
    info = summary.metrics[metric]
    unit = "clip" if any(v.clip_s for v in summary.variants) else "image"
    pts = []
    for v in summary.variants:
        x = {"latency": v.latency_s.p50 if v.latency_s else None, "cost": v.cost_per_image_usd,
             "energy": v.energy.j_per_image if v.energy else None,
             "cost_per_second": v.cost_per_video_second_usd}[axis]
        q = quality_of(v, metric, info)
        if v.status != "ok" or x is None or math.isnan(q):
            continue
        entry = v.metrics.get(metric)
        member = v.pareto.get(metric)
        pts.append({"v": v, "x": x, "y": q, "ci": entry.ci if entry else None,
                    "p90": v.latency_s.p90 if v.latency_s else None,
                    "front": bool(member and getattr(member, axis))})
    # A paired metric's baseline sits at the ideal; PSNR's ideal is infinite, so plot the
    # baseline on the best finite value seen instead of dropping it from the chart.
    stand_in = _finite_plot_value([p["y"] for p in pts], info.higher_is_better)
    for p in pts:
        if not math.isfinite(p["y"]):
            p["y"], p["ci"] = stand_in, None
        p["ci"] = finite_ci(p["ci"])
    fig = go.Figure()
    crowd = crowded([p["x"] for p in pts], [p["y"] for p in pts])
    if (curve := _fewer_steps_curve(summary, pts)) is not None:
        fig.add_trace(curve)
    front = sorted((p for p in pts if p["front"]), key=lambda p: p["x"])
    fig.add_trace(go.Scatter(x=[p["x"] for p in front], y=[p["y"] for p in front], mode="lines",
                             line={"dash": "dot", "color": "#888"}, name="Pareto front",
                             hoverinfo="skip"))
    for members, name, symbol in ((True, "Pareto member", "star"), (False, "dominated", "circle")):
        sel = [p for p in pts if p["front"] == members]
        if not sel:
            continue
        error_x = None
        if axis == "latency":  # whisker from p50 to p90: the tail a user will also see
            error_x = {"type": "data", "symmetric": False, "thickness": 1,
                       "array": [max((p["p90"] or p["x"]) - p["x"], 0.0) for p in sel],
                       "arrayminus": [0.0] * len(sel)}
        # Labels go to hover when any two points of the chart crowd, not per trace.
        names = labels([p["v"].name for p in sel], [p["x"] for p in sel], [p["y"] for p in sel])
        if crowd:
            names = {"mode": "markers", "hovertext": names["hovertext"], "hoverinfo": "text+x+y"}
        fig.add_trace(go.Scatter(
            x=[p["x"] for p in sel], y=[p["y"] for p in sel], name=name, **names,
            marker={"size": 13 if members else 9, "symbol": symbol}, error_y=_ci_errors(sel),
            error_x=error_x))
    xlabel = {"latency": f"latency per {unit} p50 (s), whisker to p90", "cost": f"cost per {unit} (USD)",
              "energy": f"energy per {unit} (J)", "cost_per_second": "cost per second of video (USD)"}[axis]
    arrow = "higher is better" if info.higher_is_better else "lower is better"
    fig.update_layout(title=f"{esc(metric)} vs {xlabel.split(',')[0]}", xaxis_title=xlabel,
                      yaxis_title=f"{esc(metric)} ({arrow}), 95% CI", **LAYOUT)
    return fig


def _fewer_steps_curve(summary: Summary, pts: list[dict[str, Any]]) -> go.Scatter | None:
    """The baseline at fewer steps (``[report] steps_frontier``) as a dashed reference line."""
    frontier = summary.steps_frontier
    steps = {p.variant: p.steps for p in frontier.points} if frontier else {}
    curve = reference_curve(CurvePoint(p["v"].name, steps[p["v"].name], p["x"], p["y"])
                            for p in pts if p["v"].name in steps)
    if len(curve) < 2:
        return None
    return go.Scatter(x=[c.x for c in curve], y=[c.quality for c in curve], mode="lines+markers",
                      line={"dash": "dash", "color": "#d62728"}, marker={"symbol": "x", "size": 7},
                      name="fewer steps (reference)", text=[f"{c.steps} steps" for c in curve],
                      hovertemplate="%{text}<extra>fewer steps</extra>")


def speedup_figure(summary: Summary, metric: str) -> go.Figure:
    """Speedup (p50) against the quality delta vs the baseline, with CI bars.

    The grey band is the noise floor (how far reseeding alone moves the mean), when the
    suite measured one. Metrics without a delta (PSNR) plot their value instead.
    """
    info = summary.metrics[metric]
    pts: list[dict[str, Any]] = []
    for v in summary.variants:
        entry = v.metrics.get(metric)
        if entry is None:
            continue
        y = entry.delta_vs_baseline if info.has_delta else entry.mean
        if v.status != "ok" or v.speedup_p50 is None or y is None or not math.isfinite(y):
            continue
        pts.append({"v": v, "x": v.speedup_p50, "y": y,
                    "ci": finite_ci(entry.delta_ci if info.has_delta else entry.ci)})
    fig = go.Figure()
    noise = summary.noise_floor.metrics.get(metric) if summary.noise_floor else None
    floor = noise.floor if noise else None
    if info.kind == "per-image" and floor:
        fig.add_hrect(y0=-floor, y1=floor, fillcolor="#999", opacity=0.18, line_width=0,
                      annotation_text="seed noise", annotation_position="top left")
    if info.has_delta:
        fig.add_hline(y=0, line={"color": "#444", "width": 1})
    fig.add_trace(go.Scatter(
        x=[p["x"] for p in pts], y=[p["y"] for p in pts], name=esc(metric),
        **labels([p["v"].name for p in pts], [p["x"] for p in pts], [p["y"] for p in pts]),
        marker={"size": 10}, error_y=_ci_errors(pts)))
    arrow = "higher is better" if info.higher_is_better else "lower is better"
    ytitle = (f"{esc(metric)} delta vs baseline ({arrow})" if info.has_delta
              else f"{esc(metric)} ({arrow})")
    fig.update_layout(title=f"speedup × vs {esc(metric)} {'delta' if info.has_delta else ''}",
                      xaxis_title="speedup × (baseline p50 / variant p50)",
                      yaxis_title=ytitle + ", 95% CI", showlegend=False, **LAYOUT)
    return fig
