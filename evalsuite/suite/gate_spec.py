"""The suite's ``[gate]`` table: what ``evalsuite gate RUN --reference REF`` tolerates.

```toml
[gate]
speedup_tolerance = 0.25    # relative: the speedup's CI may reach no lower than 75% of the reference's
skip_tolerance = 0.05       # absolute change of a cache's measured skip rate, either way
outliers = true             # an implementation outlier (equal work) fails the gate
[gate.max_drop]             # per metric, in its own units; a metric left out tolerates 0
psnr = 1.0
```
The gate reads the table from the run's own ``suite.toml``; its flags override it
(docs/GATE.md). Checked here, before anything runs, like every other table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalsuite.errors import spec_error
from reports.gate import GateBudgets

_KEYS = ("speedup_tolerance", "skip_tolerance", "outliers", "max_drop")


def _fraction(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise spec_error(source, key, f"expected a number from 0 to 1, got {value!r}")
    return float(value)


def parse_gate(source: str, table: Mapping[str, Any], used: set[str]) -> GateBudgets:
    """``[gate]`` as budgets; ``used``: the suite's metric names (a budget on another is an error)."""
    for key in table:
        if key not in _KEYS:
            raise spec_error(source, f"gate.{key}", f"unknown key (known: {', '.join(_KEYS)})")
    drops = table.get("max_drop", {})
    if not isinstance(drops, dict):
        raise spec_error(source, "gate.max_drop", "expected a table of metric = tolerated loss")
    for m, v in drops.items():
        if m not in used:
            raise spec_error(source, f"gate.max_drop.{m}", f"not a metric of this suite (used: "
                             f"{', '.join(sorted(used))})")
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
            raise spec_error(source, f"gate.max_drop.{m}", f"expected a number >= 0, got {v!r}")
    outliers = table.get("outliers", True)
    if not isinstance(outliers, bool):
        raise spec_error(source, "gate.outliers", f"expected true or false, got {outliers!r}")
    default = GateBudgets()
    return GateBudgets(
        max_drop={m: float(v) for m, v in drops.items()},
        speedup_tolerance=_fraction(source, "gate.speedup_tolerance",
                                    table.get("speedup_tolerance", default.speedup_tolerance)),
        skip_tolerance=_fraction(source, "gate.skip_tolerance",
                                 table.get("skip_tolerance", default.skip_tolerance)),
        outliers=outliers)


def gate_dict(g: GateBudgets) -> dict[str, Any]:
    """The ``[gate]`` table as a suite file writes it."""
    return {"speedup_tolerance": g.speedup_tolerance, "skip_tolerance": g.skip_tolerance,
            "outliers": g.outliers, "max_drop": dict(g.max_drop)}
