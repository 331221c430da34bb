"""Warm start: place the first probes where the baseline's decision trace predicts a speedup.

When the run folder holds cache decision traces of the baseline (``evalsuite.tracing``),
``reports.traces`` predicts each threshold's skip pattern and speedup. The planner probes
first the grid points where the predicted speedup crosses useful targets (1.5x, 2x, 2.5x,
3x), then bisects as usual, and every probe shows its predicted skip rate beside the
measured one. The prediction is exact up to the first skip and approximate after it, which
is why it only orders the probes and never decides anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evalsuite.spec import Suite
from evalsuite.tune_spec import TuneSpec
from reports.traces import THRESHOLD_PARAM, ImageTrace, predict, threshold_for_speedup

TARGETS = (1.5, 2.0, 2.5, 3.0)


def baseline_traces(run_dir: Path, suite: Suite) -> list[ImageTrace]:
    """The baseline's traces in ``run_dir`` (none when it recorded none)."""
    from evalsuite.tracing import read_traces, trace_path
    from evalsuite.tune_variants import sub_suite

    base = sub_suite(suite, []).variants[0]
    return read_traces(trace_path(run_dir, base.name, base.id))


def predictable(tune: TuneSpec) -> bool:
    """Whether ``reports.traces`` models the searched parameter (a cache's threshold)."""
    return THRESHOLD_PARAM.get(tune.accelerator) == tune.parameter


def warm_indices(traces: Sequence[ImageTrace], tune: TuneSpec,
                 targets: Sequence[float] = TARGETS) -> tuple[int, ...]:
    """Grid indices nearest the thresholds whose predicted speedup reaches each target."""
    if not traces or not predictable(tune):
        return ()
    out: list[int] = []
    for target in targets:
        threshold = threshold_for_speedup(traces, tune.accelerator, _params(tune), target, tune.hi)
        if threshold is None:
            break
        index = min(max(round((threshold - tune.lo) / tune.step), 0), tune.n_points - 1)
        if index not in out:
            out.append(index)
    return tuple(out)


def predicted_skip_rate(traces: Sequence[ImageTrace], tune: TuneSpec, value: float) -> float | None:
    """Predicted share of skipped steps at ``value`` (None without traces or a model)."""
    if not traces or not predictable(tune):
        return None
    return predict(traces, tune.accelerator, {**_params(tune), tune.parameter: value}).skip_rate


def _params(tune: TuneSpec) -> dict:
    """What the prediction needs beyond the threshold (MagCache: its ratio table)."""
    from evalsuite.tracing import prediction_params

    return prediction_params(tune.accelerator, {})
