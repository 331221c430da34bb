"""The summary in one call: the stored tables plus the run's evidence (reports/evidence.py)."""

from __future__ import annotations

from reports.evidence import RunEvidence, run_summary
from reports.frontier import FRONTIER_ROLE
from reports.records import Budget
from reports.summary import build_summary
from tests.reports._synthetic import synthetic_kwargs


def test_without_evidence_it_is_the_tables_summary() -> None:
    kwargs = synthetic_kwargs()
    assert run_summary(evidence=RunEvidence(), **kwargs) == build_summary(**kwargs)


def test_budgets_frontier_and_no_traces_in_the_one_call() -> None:
    kwargs = synthetic_kwargs()
    budgets = (Budget("quality", "max_drop", 0.1),)
    # fbc-0.2 stands in for a fewer-steps reference of the baseline (its name is the point).
    evidence = RunEvidence(frontier=(("baseline", 28), ("fbc-0.2", 14)), budgets=budgets)
    s = run_summary(evidence=evidence, **kwargs)
    assert s.recommendation is not None and s.recommendation.budgets == ("quality drop <= 0.1",)
    assert s.recommendation.variant == "fbc-0.1"  # fbc-0.2 drops 0.5: over budget
    assert s.variant("fbc-0.2").role == FRONTIER_ROLE
    assert [p.variant for p in s.steps_frontier.points] == ["baseline", "fbc-0.2"]
    verdicts = {v.variant for v in s.steps_frontier.verdicts}
    assert verdicts == {"fbc-0.05", "fbc-0.1"}  # every usable cache variant but the reference
    assert s.calibration is None  # no traces: no calibration, no predictions
    assert all(v.trace_prediction is None for v in s.variants)
