"""The variants ``tune`` generates: probes, and the suite views they are generated through.

Every probe, holdout check and fewer-steps reference is built through ``parse_suite`` from
the tables a suite file would hold, so each is validated, named and identified exactly as
the same variant in a hand-written sweep (a tune and a grid share their images).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalsuite.suite.spec import Suite, parse_suite
from evalsuite.suite.tune_spec import TuneSpec
from evalsuite.suite.types import Variant


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


def trace_reference(suite: Suite) -> tuple[Suite, Variant]:
    """The variant whose traces warm-start the search, and a view holding it and a probe
    (so the view has a cache to trace for).

    Without fixed companions that is the suite's baseline. With them it is the companions
    alone (e.g. FP8 without the cache): quantization or compilation moves the signals a
    cache thresholds, so the prediction must come from the pipeline the probes run.
    """
    tune = suite.tune
    assert tune is not None
    probe = variant_table(tune, tune.value(0))
    if not tune.fixed:
        view = sub_suite(suite, [probe])
        return view, view.variants[0]
    view = sub_suite(suite, [probe, {"name": "+".join(n for n, _ in tune.fixed), **tune.companions()}])
    return view, view.variants[-1]
