"""Per-category breakdown: which prompt categories lose quality first as acceleration rises.

Pure functions over the score tables. Variants are read in suite order, which for a sweep
is the order its values were written in (thresholds usually rise down the list).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

from reports.bootstrap import Key
from reports.metric_info import MetricInfo
from reports.metric_stats import WORSE, delta_interval, oriented_loss, verdict
from reports.records import VariantRun
from reports.summary_records import BreakRow, CategoryBreakdown, CategoryCell, CategoryCount


def _subset(values: Mapping[Key, float | None], keys: set[Key]) -> dict[Key, float | None]:
    return {k: v for k, v in values.items() if k in keys}


def category_breakdown(metrics: Mapping[str, MetricInfo], variants: Sequence[VariantRun],
                       scores_by: Mapping[tuple[str, str], Mapping[Key, float | None]],
                       category_of: Mapping[Key, str], baseline_id: str,
                       floors: Mapping[str, float | None] | None = None) -> dict[str, CategoryBreakdown]:
    """Per metric: every category's mean and delta for every non-baseline variant.

    Args:
        metrics: name -> info; set-level metrics are skipped (one value per set has no
            categories).
        variants: in suite order, baseline excluded.
        scores_by: (variant id, metric) -> {(prompt, seed): value}.
        category_of: (prompt, seed) -> category of the prompt.
        baseline_id: the baseline's variant id.
        floors: metric -> noise floor, when measured.

    Returns:
        metric -> its breakdown: every category's cell for every variant (mean, delta, its
        CI, loss (positive = worse) and verdict), and the categories ordered by the first
        variant (in suite order) that makes them significantly worse, then by their
        largest loss.
    """
    keys_by_cat: dict[str, set[Key]] = defaultdict(set)
    for key, cat in category_of.items():
        keys_by_cat[cat or "uncategorised"].add(key)
    cats = sorted(keys_by_cat)
    out: dict[str, CategoryBreakdown] = {}
    for m, info in metrics.items():
        if info.kind == "set":
            continue
        base = scores_by.get((baseline_id, m), {})
        cells: dict[str, dict[str, CategoryCell]] = {c: {} for c in cats}
        for v in variants:
            values = scores_by.get((v.id, m), {})
            for c in cats:
                mean, delta = delta_interval(info, _subset(values, keys_by_cat[c]), base)
                # PSNR has no delta; a lower value is still a larger loss for ordering.
                loss = oriented_loss(info, delta.estimate) if delta.estimate is not None else (
                    oriented_loss(info, mean.estimate) if mean.estimate is not None else None)
                cells[c][v.name] = CategoryCell(mean.estimate, mean.n, delta.estimate, delta.ci, loss,
                                                verdict(info, delta, (floors or {}).get(m)))
        out[m] = CategoryBreakdown(tuple(CategoryCount(c, len(keys_by_cat[c])) for c in cats), cells,
                                   first_to_break(cells, [v.name for v in variants]))
    return out


def first_to_break(cells: Mapping[str, Mapping[str, CategoryCell]],
                   order: Sequence[str]) -> tuple[BreakRow, ...]:
    """Categories ordered by how early (in ``order``) they turn significantly worse.

    Ties (and categories that never turn significantly worse) are ordered by their largest
    loss over all variants, largest first.
    """
    ranked = []
    for cat, by_variant in cells.items():
        first = next((i for i, name in enumerate(order)
                      if name in by_variant and by_variant[name].verdict == WORSE), None)
        losses = [c.loss for c in by_variant.values() if c.loss is not None and not math.isnan(c.loss)]
        max_loss = max(losses) if losses else None
        rank = (math.inf if first is None else first, -(max_loss if max_loss is not None else -math.inf))
        ranked.append((rank, cat, BreakRow(cat, order[first] if first is not None else None, max_loss)))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return tuple(row for _, _, row in ranked)
