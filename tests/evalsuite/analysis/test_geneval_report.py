"""GenEval's summary in the report: task shares and the mean of tasks, per variant."""

from __future__ import annotations

import pytest

from evalsuite.analysis.geneval_report import geneval_summary
from reports.records import SampleRecord, Score, VariantRun


def test_overall_is_the_mean_of_task_scores_and_other_prompts_are_ignored():
    variants = (VariantRun("v0", "baseline"), VariantRun("v1", "fast"))
    tasks = ["counting"] * 4 + ["colors", "smoke-cat"]
    samples = tuple(SampleRecord(v.id, f"p{i}", 0, "ok", category=t)
                    for v in variants for i, t in enumerate(tasks))
    values = {"v0": [1, 0, 0, 1, 1, None], "v1": [0, 0, 0, 0, 1, None]}
    scores = tuple(Score(vid, f"p{i}", 0, "geneval", None if x is None else float(x))
                   for vid, xs in values.items() for i, x in enumerate(xs))
    out = geneval_summary(variants, samples, scores)
    assert out["tasks"] == ["counting", "colors"]
    base, fast = out["rows"]
    assert base["variant"] == "baseline" and base["tasks"] == {"counting": 0.5, "colors": 1.0}
    assert base["overall"] == pytest.approx(0.75) and fast["overall"] == pytest.approx(0.5)
    assert geneval_summary(variants, samples, ()) is None
