"""The variants ``tune`` generates: probes, and the suite views they are generated through.

Every probe, holdout check and fewer-steps reference is built by the suite's own builder
(``evalsuite.suite.build``) from the settings a ``[[variant]]`` table would hold, so each
is validated, named and identified exactly as the same variant in a hand-written sweep (a
tune and a grid share their images).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalsuite.suite.build import VariantSettings, sweep_name
from evalsuite.suite.spec import Suite, with_variants
from evalsuite.suite.tune_spec import TuneSpec
from evalsuite.suite.types import Variant
from reports.records import SweepAxis


def probe_settings(tune: TuneSpec, value: Any, values: Sequence[Any] = ()) -> VariantSettings:
    """The probe at ``value``: one point of the sweep over ``values`` (default: just ``value``).

    Named as the sweep ``[[variant]] name = "fbcache" fbcache = { threshold = [...] }`` names
    it (``fbcache-0.2``; ``fbcache+torchao-0.2`` with fixed companions).
    """
    group = "+".join([tune.accelerator, *(n for n, _ in tune.fixed)])
    axis = SweepAxis(tune.accelerator, tune.parameter, tuple(values) or (value,))
    return VariantSettings(sweep_name(group, (axis,), (value,)),
                           ((tune.accelerator, ((tune.parameter, value), *tune.calibrated)), *tune.fixed),
                           group=group, sweep=(axis,))


def fewer_steps_settings(steps: int) -> VariantSettings:
    """The baseline at ``steps`` steps, as ``[[variant]] name = "fewer-steps" steps = [N]`` names it."""
    axis = SweepAxis("", "steps", (steps,))
    return VariantSettings(sweep_name("fewer-steps", (axis,), (steps,)), generation=(("steps", steps),),
                           group="fewer-steps", sweep=(axis,))


def probed_suite(suite: Suite, values: Sequence[Any]) -> Suite:
    """The baseline and one sweep over every probed value: the run folder's ``suite.toml``
    (``evalsuite run`` on it regenerates nothing)."""
    assert suite.tune is not None
    ordered = sorted(set(values))
    return with_variants(suite, [probe_settings(suite.tune, v, ordered) for v in ordered])


def trace_reference(suite: Suite) -> tuple[Suite, Variant]:
    """The variant whose traces warm-start the search, and a view holding it and a probe
    (so the view has a cache to trace for).

    Without fixed companions that is the suite's baseline. With them it is the companions
    alone (e.g. FP8 without the cache): quantization or compilation moves the signals a
    cache thresholds, so the prediction must come from the pipeline the probes run.
    """
    tune = suite.tune
    assert tune is not None
    probe = probe_settings(tune, tune.value(0))
    if not tune.fixed:
        view = with_variants(suite, [probe])
        return view, view.variants[0]
    name = "+".join(n for n, _ in tune.fixed)
    view = with_variants(suite, [probe, VariantSettings(name, tune.fixed, group=name)])
    return view, view.variants[-1]
