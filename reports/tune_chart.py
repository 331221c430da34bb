"""The tune page: the search path as a chart (parameter against each budgeted quality, the
budget line, probes numbered in order) and a table of probes. Pure: reads tune.json's dict.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reports.charts import esc

_WORD = {"max_drop": "loss (drop) vs baseline", "max_rise": "loss (rise) vs baseline",
         "min": "value", "max": "value"}


def _f(x: Any) -> float:
    """tune.json writes infinities as strings; plot them as gaps."""
    value = float(x) if x is not None else math.nan
    return value if math.isfinite(value) else math.nan


def search_path_figure(result: Mapping[str, Any]) -> go.Figure:
    """One panel per budget: each probe's pessimistic CI bound at its deciding look."""
    probes = result["probes"]
    budgets = [(b["metric"], b["kind"], b["limit"]) for b in (probes[0]["looks"][-1]["budgets"]
                                                              if probes and probes[0]["looks"] else [])]
    fig = make_subplots(rows=max(len(budgets), 1), cols=1, shared_xaxes=True,
                        subplot_titles=[esc(f"{m} {_WORD[k]} (budget {lim:g})") for m, k, lim in budgets])
    param = result.get("parameter", "value")
    for row, (metric, kind, limit) in enumerate(budgets, start=1):
        xs, ys, labels, colors, spans = [], [], [], [], []
        for p in probes:
            if not p["looks"]:
                continue
            b = next(x for x in p["looks"][-1]["budgets"] if x["metric"] == metric and x["kind"] == kind)
            xs.append(p["value"])
            ys.append(_f(b["bound"]))
            spans.append(abs(_f(b["bound"]) - _f(b["optimistic"])))
            labels.append(str(p["order"]))
            colors.append("#2a9d4b" if p["passed"] else "#c0392b")
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers+text+lines", text=labels, textposition="top center",
            line={"color": "#bbbbbb", "dash": "dot"}, marker={"color": colors, "size": 10},
            error_y={"type": "data", "symmetric": False, "array": [0] * len(spans),
                     "arrayminus": spans} if kind != "min" else
                    {"type": "data", "symmetric": False, "array": spans, "arrayminus": [0] * len(spans)},
            name=esc(metric), showlegend=False,
            hovertext=[esc(f"probe {lab}: {param}={x}") for lab, x in zip(labels, xs, strict=True)]),
            row=row, col=1)
        fig.add_hline(y=limit, line={"color": "#555555", "dash": "dash"}, row=row, col=1)
    fig.update_xaxes(title_text=esc(str(param)), row=max(len(budgets), 1), col=1)
    fig.update_layout(height=260 * max(len(budgets), 1) + 60, margin={"t": 50, "b": 40},
                      title=esc("search path (numbers: probe order; green passed; bars: CI to the "
                                "optimistic end; dashed: budget)"))
    return fig


def _row(p: Mapping[str, Any]) -> str:
    cells = [p["order"], p["variant"], p["value"], " → ".join(str(lk["n_prompts"]) for lk in p["looks"]),
             "pass" if p["passed"] else "fail", p.get("speedup"), p.get("skip_rate"),
             p.get("predicted_skip_rate"), p.get("error") or ""]
    fmt = [c if not isinstance(c, float) else f"{c:.3g}" for c in cells]
    return "<tr>" + "".join(f"<td>{html.escape('' if c is None else str(c))}</td>" for c in fmt) + "</tr>"


def tune_page(result: Mapping[str, Any]) -> str:
    """The standalone tune page (uses the plotly.min.js that index.html writes beside it)."""
    s = result.get("setting")
    head = (f"{s['accelerator']}.{s['parameter']} = {s['value']}" if s else "nothing meets the budget")
    why = result.get("not_certified_because")
    verdict = ("certified on the holdout" if result["certified"]
               else "NOT certified" + (f": {why}" if why else ""))
    speed, ci = result.get("speedup"), result.get("speedup_ci")
    speed_text = ("n/a" if speed is None
                  else f"{speed:.3g}x" + (f" (95% CI {ci[0]:.3g}-{ci[1]:.3g})" if ci else ""))
    trial = (f" from the speed trial: {result['speed_trial']['summary']}"
             if result.get("speed_trial") else "")
    figure = search_path_figure(result).to_html(full_html=False, include_plotlyjs="directory")
    rows = "".join(_row(p) for p in result["probes"])
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>tune</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 8px;border-bottom:1px solid #ddd}}</style>
</head><body><h1>tune: {html.escape(head)}</h1>
<p>{html.escape(verdict)}; speedup {html.escape(speed_text)}{html.escape(trial)};
images generated {result['images_generated']} against {result['grid_images']} for a full grid of
{result['grid_points']} points; warm start: {html.escape(str(result.get('warm_start')))}.</p>
<p>Sequential method: {html.escape(result['sequential_method'])}.</p>
{figure}
<table><tr><th>#</th><th>variant</th><th>value</th><th>prompts per look</th><th>verdict</th>
<th>speedup (search timings)</th><th>skip rate</th><th>predicted skip rate</th><th>error</th></tr>
{rows}</table>
<h2>Suite snippet</h2><pre>{html.escape(result.get('snippet') or '')}</pre>
</body></html>
"""
