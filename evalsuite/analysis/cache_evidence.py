"""What the summary needs besides the stored tables, gathered from the suite and the run folder.

Glue only: the fewer-steps reference points, the baseline's decision traces and each cache's
prediction parameters, and the suite's budgets, as plain values for ``reports.evidence``
(which builds the summary's sections from them; see :func:`reports.evidence.run_summary`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalsuite.models.tracing import prediction_params, read_traces
from evalsuite.store.paths import trace_path
from evalsuite.suite.overrides import effective_model
from evalsuite.suite.spec import FRONTIER_ROLE, Suite
from reports.evidence import RunEvidence
from reports.records import VariantRun


def frontier_points(suite: Suite) -> tuple[tuple[str, int], ...]:
    """(name, steps) of the baseline and then of the fewer-steps references; () without them."""
    refs = [v for v in suite.variants if v.role == FRONTIER_ROLE]
    if not refs:
        return ()
    return tuple((v.name, effective_model(suite.model, v).steps) for v in (suite.baseline_variant, *refs))


def trace_params(variants: Sequence[VariantRun]) -> dict[str, dict[str, Any]]:
    """Each cache variant's parameters as the trace prediction needs them, by variant id
    (a cache with no trace model is left out)."""
    out = {}
    for v in variants:
        if v.cache is not None:
            try:
                out[v.id] = prediction_params(v.cache.accelerator, dict(v.cache.params),
                                              v.calibration.get(v.cache.accelerator))
            except (KeyError, ValueError):
                continue
    return out


def run_evidence(suite: Suite, run_dir: Path, variants: Sequence[VariantRun]) -> RunEvidence:
    """Everything the summary needs from the suite and the run folder besides the store's tables."""
    base = suite.baseline_variant
    traces = tuple(read_traces(trace_path(run_dir, base.name, base.id)))
    return RunEvidence(frontier=frontier_points(suite), traces=traces,
                       # Only with traces: a MagCache's parameters import diffusers for its table.
                       trace_params=trace_params(variants) if traces else {},
                       budgets=suite.report.budgets, objective=suite.report.objective)
