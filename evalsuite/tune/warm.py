"""Warm start: place the first probes where the baseline's decision trace predicts a speedup.

Before the first probe the tune traces its reference pipeline (the baseline, or the fixed
companions alone) on a few search prompts, untimed, in a worker of its own. From those cache
decision traces (``evalsuite.models.tracing``),
``reports.traces`` predicts each threshold's skip pattern and speedup. The planner probes
first the grid points where the predicted speedup crosses useful targets (1.5x, 2x, 2.5x,
3x), then bisects as usual, and every probe shows its predicted skip rate beside the
measured one. The prediction is exact up to the first skip and approximate after it, which
is why it only orders the probes and never decides anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evalsuite.progress import Progress
from evalsuite.suite.spec import Suite
from evalsuite.suite.tune_spec import TuneSpec
from prompts import Prompt
from reports.traces import THRESHOLD_PARAM, ImageTrace, predict, threshold_for_speedup

TARGETS = (1.5, 2.0, 2.5, 3.0)


def baseline_traces(run_dir: Path, suite: Suite) -> list[ImageTrace]:
    """The traces of the tune's reference pipeline in ``run_dir`` (none when it recorded none):
    the baseline, or the fixed companions alone (``tune_variants.trace_reference``)."""
    from evalsuite.models.tracing import read_traces
    from evalsuite.store.paths import trace_path
    from evalsuite.tune.variants import trace_reference

    _, traced = trace_reference(suite)
    return read_traces(trace_path(run_dir, traced.name, traced.id))


def record_traces(run_dir: Path, suite: Suite, prompts: Sequence[Prompt], device: str,
                  progress: Progress) -> None:
    """Trace the reference pipeline on the first search prompts (untimed, its own worker).

    ``[run] trace_images`` of them (4 by default); already traced images are skipped, so a
    resumed tune traces nothing again. A failure only costs the warm start, so it is printed
    and the search brackets from the range instead.
    """
    from evalsuite.run.trace_step import trace_baseline
    from evalsuite.tune.variants import trace_reference

    view, traced = trace_reference(suite)
    if (why := trace_baseline(view, run_dir, prompts, device, progress, traced)) is not None:
        progress(f"traces: {why}")


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
    from evalsuite.models.tracing import prediction_params

    return prediction_params(tune.accelerator, dict(tune.calibrated))
