"""Plotly figures for the per-category breakdown and the cache telemetry panel."""

from __future__ import annotations

import json
import math

import plotly.graph_objects as go

from reports.charts import LAYOUT, esc
from reports.summary_records import Summary


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def category_figure(summary: Summary, metric: str) -> go.Figure | None:
    """One line per prompt category across the variants (suite order): who drops first.

    Per-image and ideal-anchored metrics plot the delta vs the baseline, PSNR its value.
    Filled markers are significantly worse than the baseline within that category.
    """
    data = summary.categories.get(metric)
    if not data:
        return None
    info = summary.metrics[metric]
    names = [v.name for v in summary.variants if not v.is_baseline and v.status == "ok"]
    fig = go.Figure()
    for cat in data.categories:
        cells = [data.cells[cat.name].get(n) for n in names]
        ys = [_finite((c.delta if info.has_delta else c.mean) if c else None) for c in cells]
        worse = [bool(c and c.verdict == "worse") for c in cells]
        fig.add_trace(go.Scatter(
            x=[esc(n) for n in names], y=ys, mode="lines+markers",
            name=f"{esc(cat.name)} (n={cat.n})",
            marker={"size": [11 if w else 7 for w in worse], "symbol": ["circle" if w else "circle-open"
                                                                         for w in worse]},
            hovertext=[esc((c.verdict if c else None) or "") for c in cells]))
    if info.has_delta:
        fig.add_hline(y=0, line={"color": "#444", "width": 1})
    arrow = "higher is better" if info.higher_is_better else "lower is better"
    what = "delta vs baseline" if info.has_delta else "value"
    fig.update_layout(title=f"{esc(metric)} {what} by prompt category",
                      xaxis_title="variant (suite order)", yaxis_title=f"{esc(metric)} {what} ({arrow})",
                      **LAYOUT)
    return fig


def telemetry_params(summary: Summary) -> list[str]:
    """The swept cache parameters, one telemetry chart each."""
    return list(dict.fromkeys(s.param for s in summary.telemetry.sweeps if s.param))


def telemetry_figure(summary: Summary, param: str) -> go.Figure | None:
    """Skip rate (left axis) and speedup (right axis) against one swept cache parameter.

    One series per sweep the suite declares along ``param``. Inert variants (nothing
    skipped) are red crosses; a step that is a quality cliff ends on a red diamond.
    """
    sweeps = [s for s in summary.telemetry.sweeps if s.param == param]
    if not sweeps:
        return None
    fig = go.Figure()
    for s in sweeps:
        settings = {**s.fixed, **s.with_}
        label = esc(f"{s.group}: {s.accelerator}" + (f" {json.dumps(settings, sort_keys=True)}"
                                                        if settings else ""))
        pts = s.points
        cliff_ends = {c.after for cs in s.cliffs.values() for c in cs}
        symbols = ["x" if p.inert else "diamond" if p.variant in cliff_ends else "circle" for p in pts]
        colors = ["#c00" if p.inert or p.variant in cliff_ends else "#1f77b4" for p in pts]
        fig.add_trace(go.Scatter(
            x=[p.x for p in pts], y=[p.skip_rate for p in pts], mode="lines+markers",
            name=f"{label} skip rate", marker={"size": 11, "symbol": symbols, "color": colors},
            hovertext=[esc(p.variant) + (" (inert)" if p.inert else "")
                       + (" (cliff)" if p.variant in cliff_ends else "") for p in pts]))
        fig.add_trace(go.Scatter(
            x=[p.x for p in pts], y=[_finite(p.speedup_p50) for p in pts], yaxis="y2",
            mode="lines+markers", line={"dash": "dash"}, name=f"{label} speedup ×",
            hovertext=[esc(p.variant) for p in pts]))
    fig.update_layout(title="cache telemetry: skip rate and speedup vs " + esc(param),
                      xaxis_title=esc(param), yaxis={"title": "skipped steps / all steps", "range": [0, 1]},
                      yaxis2={"title": "speedup × (p50)", "overlaying": "y", "side": "right"},
                      legend={"orientation": "h", "y": -0.25}, **{**LAYOUT, "margin": {
                          "l": 70, "r": 70, "t": 50, "b": 80}, "height": 420})
    return fig
