"""GenEval's own summary per variant for the report: task scores and their mean.

The report's generic statistics average GenEval's 0/1 scores over images; GenEval's overall
score is the mean of its six task scores instead (``metrics.geneval_rules.summarise``). This
joins the stored scores with each prompt's category (its GenEval task) to give both.
"""

from __future__ import annotations

from typing import Any

from metrics.geneval_rules import TASKS, summarise
from reports.records import SampleRecord, Score, VariantRun


def geneval_summary(variants: tuple[VariantRun, ...], samples: tuple[SampleRecord, ...],
                    scores: tuple[Score, ...]) -> dict[str, Any] | None:
    """{"tasks": [...], "rows": [{variant, tasks: {task: share}, counts, overall}]}, or None
    when the run has no GenEval scores."""
    task_of = {(s.prompt_id, s.seed): s.category or "" for s in samples}
    by_variant: dict[str, list[tuple[str, float]]] = {}
    for sc in scores:
        if sc.metric == "geneval" and sc.value is not None:
            by_variant.setdefault(sc.variant_id, []).append((task_of.get((sc.prompt_id, sc.seed), ""),
                                                             sc.value))
    if not by_variant:
        return None
    rows = []
    for v in variants:
        if v.id in by_variant:
            s = summarise(by_variant[v.id])
            rows.append({"variant": v.name, "tasks": dict(s.tasks), "counts": dict(s.counts),
                         "overall": s.overall})
    seen = {t for r in rows for t in r["tasks"]}
    return {"tasks": [t for t in TASKS if t in seen] + sorted(seen - set(TASKS)), "rows": rows}
