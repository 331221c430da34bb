"""A variant's energy per image in summary.json: joules and Wh per 1000 images, with CIs.

Per-image joules come from the worker's counter reads around each timed generation (NVML
on GPUs, summed over a context-parallel group; RAPL on CPUs). Images without a reading are
"not measured" and left out; a variant with none has null values and the reason, never 0.
The interval is the same prompt-resampling bootstrap as every quality mean. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping

from reports.bootstrap import Key, cluster_bootstrap
from reports.summary_records import EnergyEntry

J_TO_WH_PER_1000 = 1000.0 / 3600.0  # J per image -> Wh per 1000 images


def energy_entry(values: Mapping[Key, float | None], source: str | None,
                 reason: str | None) -> EnergyEntry:
    """The ``energy`` entry of one variant.

    Args:
        values: (prompt id, seed) -> joules of that image's generation; None = not measured.
        source: "nvml", "rapl" or None.
        reason: why nothing was measured (from the meter), when source is None.
    """
    iv = cluster_bootstrap({k: v for k, v in values.items() if v is not None})
    if iv.estimate is None:
        return EnergyEntry(None, reason or "not measured")
    ci = None if iv.lo is None or iv.hi is None else (iv.lo, iv.hi)
    return EnergyEntry(source, None, iv.estimate, ci, iv.estimate * J_TO_WH_PER_1000,
                       (ci[0] * J_TO_WH_PER_1000, ci[1] * J_TO_WH_PER_1000) if ci else None, iv.n)
