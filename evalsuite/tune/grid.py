"""The exhaustive grid ``tune`` is checked against: every grid value on every search prompt.

Each value is judged once, on all the search prompts, at the CI level ``tune``'s last look
uses (the same bound), and the grid's answer is the largest value that passes. It runs
through the same planner, so its variants are the very ones a tune probes (same ids): a
tune run in a grid's folder regenerates nothing, and the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalsuite.progress import Reporter
from evalsuite.suite.spec import Suite, with_variants
from evalsuite.tune.result import Look
from evalsuite.tune.search import grid_answer
from evalsuite.tune.tuner import open_planner
from evalsuite.tune.variants import probe_settings
from reports.sequential import PASS, final, look_level, look_sizes


@dataclass(frozen=True)
class GridResult:
    """Every grid value's verdict and the largest passing one."""

    values: tuple[float | int, ...]
    looks: tuple[Look, ...]
    answer: int | None  # grid index
    images: int  # images the grid needed: (points + baseline) x search prompts x seeds
    level: float

    @property
    def passed(self) -> tuple[bool, ...]:
        """Whether each value meets every budget at the bound."""
        return tuple(final(lk.verdict) == PASS for lk in self.looks)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"answer": None if self.answer is None else self.values[self.answer],
                "answer_index": self.answer, "images": self.images, "level": self.level,
                "points": [{"value": v, "passed": ok, **lk.to_dict()}
                           for v, ok, lk in zip(self.values, self.passed, self.looks, strict=True)]}


def run_grid(suite: Suite, run_dir: Path, progress: Reporter) -> GridResult:
    """Generate, score and judge the whole grid of ``suite``'s ``[tune]`` in ``run_dir``."""
    with open_planner(suite, run_dir, progress) as planner:
        tune = planner.tune
        search = planner.search
        level = look_level(tune.confidence, len(look_sizes(tune.first_prompts, len(search))))
        values = tuple(tune.value(i) for i in range(tune.n_points))
        view = with_variants(suite, [probe_settings(tune, v, values) for v in values])
        planner.ensure(view, search)
        looks = tuple(planner.look(view, v, search, level) for v in view.variants[1:])
        images = len(planner.used)
    return GridResult(values, looks, grid_answer([final(lk.verdict) == PASS for lk in looks]),
                      images, level)
