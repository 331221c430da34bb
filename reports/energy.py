"""A variant's energy per image in summary.json: joules and Wh per 1000 images, with CIs.

Per-image joules come from the worker's counter reads around each timed generation (NVML
on GPUs, summed over a context-parallel group; RAPL on CPUs). Images without a reading are
"not measured" and left out; a variant with none has null values and the reason, never 0.
The interval is the same prompt-resampling bootstrap as every quality mean. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reports.bootstrap import Key, cluster_bootstrap

J_TO_WH_PER_1000 = 1000.0 / 3600.0  # J per image -> Wh per 1000 images


def energy_entry(values: Mapping[Key, float | None], source: str | None,
                 reason: str | None) -> dict[str, Any]:
    """The ``energy`` entry of one variant.

    Args:
        values: (prompt id, seed) -> joules of that image's generation; None = not measured.
        source: "nvml", "rapl" or None.
        reason: why nothing was measured (from the meter), when source is None.
    """
    iv = cluster_bootstrap({k: v for k, v in values.items() if v is not None})
    if iv.estimate is None:
        return {"source": None, "reason": reason or "not measured", "j_per_image": None, "ci": None,
                "wh_per_1000_images": None, "wh_ci": None, "n": 0}
    to_wh = (lambda j: j * J_TO_WH_PER_1000)  # noqa: E731
    return {"source": source, "reason": None, "j_per_image": iv.estimate, "ci": iv.ci,
            "wh_per_1000_images": to_wh(iv.estimate), "wh_ci": [to_wh(x) for x in iv.ci] if iv.ci else None,
            "n": iv.n}
