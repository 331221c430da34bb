"""The equal-work chart: quality against measured skip rate, one series per implementation.

Each cache implementation is a line over its variants sorted by measured skip rate, with
95% CI error bars; an implementation outlier is a red diamond (reports/equal_work.py).
"""

from __future__ import annotations

from collections import defaultdict

import plotly.graph_objects as go

from reports.charts import LAYOUT, esc
from reports.summary_records import Summary


def equal_work_figure(summary: Summary, metric: str) -> go.Figure | None:
    """Quality (mean for a paired metric, delta vs baseline otherwise) against skip rate."""
    ew = summary.equal_work
    if ew is None:
        return None
    series: dict[str, list] = defaultdict(list)
    for p in ew.points:
        if p.skip_rate is not None and metric in p.quality:
            series[p.implementation].append((p.skip_rate, p.variant, *p.quality[metric]))
    if not series:
        return None
    flagged = {c.variant for c in ew.outliers if c.metric == metric}
    fig = go.Figure()
    for impl, pts in sorted(series.items()):
        pts.sort()
        fig.add_trace(go.Scatter(
            x=[p[0] for p in pts], y=[p[2] for p in pts], mode="lines+markers", name=esc(impl),
            error_y={"type": "data", "symmetric": False, "array": [p[4] - p[2] for p in pts],
                     "arrayminus": [p[2] - p[3] for p in pts]},
            marker={"size": [14 if p[1] in flagged else 9 for p in pts],
                    "symbol": ["diamond" if p[1] in flagged else "circle" for p in pts],
                    "line": {"width": 2, "color": ["#c00" if p[1] in flagged else "rgba(0,0,0,0)"
                                                   for p in pts]}},
            hovertext=[esc(p[1]) + (" (implementation outlier)" if p[1] in flagged else "") for p in pts]))
    kind = summary.metrics[metric].kind
    fig.update_layout(title=f"{esc(metric)} at equal work: quality vs measured skip rate",
                      xaxis={"title": "measured skip rate (skipped / all steps)", "range": [0, 1]},
                      yaxis_title=esc(metric) + ("" if kind == "paired" else " delta vs baseline"),
                      legend={"orientation": "h", "y": -0.25},
                      **{**LAYOUT, "margin": {"l": 70, "r": 30, "t": 50, "b": 80}, "height": 420})
    return fig
