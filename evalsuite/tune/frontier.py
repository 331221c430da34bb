"""The tuned cache against the free alternative: the baseline with fewer steps.

After the holdout, one fewer-steps reference runs on the holdout prompts: the baseline at
as many steps as the winner really computed (``floor(steps x (1 - skip rate))`` on the
holdout). A skipped step still runs the first block, and text encoding and decoding cost the
same in both, so that reference is no slower than the winner; a step count derived from the
end-to-end speedup would not be, because those fixed costs do not shrink with the steps.
``reports.frontier.frontier_verdict`` then pairs the winner with the nearest no-slower step
count (the baseline itself counts) and compares every per-image and paired metric with a
paired bootstrap CI. One reference, not a whole curve,
keeps the check to one holdout's worth of images.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

import prompts as prompt_sets
from evalsuite.store.db import Store
from evalsuite.store.schema import SampleStatus
from evalsuite.suite.spec import Suite, with_variants
from evalsuite.tune.result import Probe
from evalsuite.tune.variants import fewer_steps_settings, probe_settings
from reports.frontier import FrontierPoint, frontier_verdict, reference_values
from reports.metric_info import MetricInfo


def reference_steps(base_steps: int, skip_rate: float) -> int | None:
    """Step count of the fewer-steps reference; None when there is no fewer-steps setting."""
    if base_steps < 2 or not skip_rate or skip_rate <= 0.0:
        return None
    return min(base_steps - 1, max(1, math.floor(base_steps * (1.0 - skip_rate))))


def versus_fewer_steps(suite: Suite, store: Store, holdout: Sequence[prompt_sets.Prompt],
                       ensure: Callable[[Suite, Sequence[prompt_sets.Prompt]], Any], winner: Probe,
                       skip_rate: float | None) -> dict[str, Any]:
    """``frontier_verdict`` of the winner on the holdout prompts (its JSON form).

    ``ensure(view, prompts)`` generates and scores what ``view``'s variants lack.
    """
    from metrics import SCORERS
    steps = reference_steps(suite.model.steps, skip_rate or 0.0)
    if steps is None:
        return {"verdict": None, "reason": "the winner skipped no step on the holdout, or the "
                "baseline has one step: no fewer-steps alternative to compare with"}
    assert suite.tune is not None
    view = with_variants(suite, [probe_settings(suite.tune, winner.value), fewer_steps_settings(steps)])
    base, cache, ref = view.variants
    ensure(view, holdout)
    keys = {(p.id, s) for p in holdout for s in suite.prompts.seeds}
    samples = [r for r in store.samples([v.id for v in view.variants])
               if (r.prompt_id, r.seed) in keys and r.status == SampleStatus.OK and r.latency_s]
    p50 = {v.id: statistics.median([r.latency_s for r in samples if r.variant_id == v.id] or [math.nan])
           for v in view.variants}
    scores = [r for r in store.scores() if (r.prompt_id, r.seed) in keys]
    infos = {}
    for use in suite.metrics:
        cls = SCORERS.get(use.name)
        if str(cls.kind) != "set":
            infos[use.name] = MetricInfo.of(cls)

    def values(vid: str) -> dict[str, dict]:
        return {m: {(r.prompt_id, r.seed): r.value for r in scores
                    if r.variant_id == vid and r.metric == m} for m in infos}

    base_values = {m: (reference_values(info, keys) if info.kind == "paired" else values(base.id)[m])
                   for m, info in infos.items()}
    points = [FrontierPoint(base.name, suite.model.steps, p50[base.id]),
              FrontierPoint(ref.name, steps, p50[ref.id])]
    verdict = frontier_verdict(cache.name, p50[cache.id], points, values(cache.id),
                               {base.name: base_values, ref.name: values(ref.id)}, infos)
    return {**verdict.to_dict(), "prompts": "holdout"}
