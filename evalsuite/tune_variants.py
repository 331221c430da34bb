"""The variants ``tune`` generates: probes, and the suite views they are generated through.

Every probe, holdout check and fewer-steps reference is built through ``parse_suite`` from
the tables a suite file would hold, so each is validated, named and identified exactly as
the same variant in a hand-written sweep (a tune and a grid share their images).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalsuite.spec import Suite, parse_suite
from evalsuite.tune_spec import TuneSpec


def variant_table(tune: TuneSpec, value: Any) -> dict[str, Any]:
    """The ``[[variant]]`` table of a probe: one sweep value, so the name carries it."""
    return {"name": "+".join([tune.accelerator, *(n for n, _ in tune.fixed)]),
            tune.accelerator: {tune.parameter: [value]}, **tune.companions()}


def sub_suite(suite: Suite, tables: Sequence[dict[str, Any]], **model: Any) -> Suite:
    """The suite with the baseline and ``tables`` as its only variants (no reference variants).

    Built through ``parse_suite``, so each probe is validated and named exactly as a sweep
    in a suite file would be, and gets the same id.
    """
    raw = suite.to_dict()
    raw["variant"] = [{"name": suite.baseline}, *tables]
    raw["model"] = {**raw["model"], **model}
    raw["report"] = {"objective": suite.report.objective,
                     "budget": [{"metric": b.metric, b.kind: b.value} for b in suite.report.budgets]}
    return parse_suite(raw, suite.source, Path(suite.source).parent)
