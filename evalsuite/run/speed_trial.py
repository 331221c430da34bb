"""The speed trial: a reference and a candidate variant timed in alternation, close together.

A speedup read from timings taken minutes apart (the baseline during a tune's first look,
the winner after a holdout, perhaps after a ``kill -9`` and a resume) measures the machine's
load as much as the variant: one burst beside either side decides the verdict. Here both
are timed in one short trial, in fresh workers alive at once (``generators.alternate``):
both load and warm up side by side, then take turns, one image each, over the same
(prompt, seed) items. Pair i is timed reference first (``AB``) when i is even and candidate
first (``BA``) when odd, so neither side always runs first. A change in load then reaches
both sides of a pair, and the paired speedup (``reports.speedup``) reads it as noise, not
as a speedup.

Like the drift check's ``drift.sqlite``, the trial's rows live in a store of their own
(``speed.sqlite``, images under ``speed/``), never mixed with the run's. ``speed_trial.json``
is written when the trial is complete; a trial killed half-way has none, and the next
session starts it again from scratch. Every pair of a verdict was therefore timed in one
session, whether or not the session before it was interrupted.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from evalsuite.models.calibration import variant_wants_calibration
from evalsuite.progress import Progress
from evalsuite.run.plan import calibration_items
from evalsuite.run.work import WorkerJob, WorkItem
from evalsuite.store.db import Store
from evalsuite.store.paths import TRIAL_IMAGES, TRIAL_RECORD, TRIAL_STORE
from evalsuite.suite.spec import Suite
from evalsuite.suite.types import Variant

METHOD = "alternating"


@dataclass(frozen=True)
class TrialPair:
    """One (prompt, seed) timed by both sides, one right after the other."""

    prompt_id: str
    seed: int
    order: str  # "AB": the reference first; "BA": the candidate first
    reference_s: float
    candidate_s: float


@dataclass(frozen=True)
class SpeedTrial:
    """A finished trial: what was timed, in which order, and how loaded the machine was."""

    reference: str  # variant id (the baseline)
    candidate: str  # variant id (the winner)
    pairs: tuple[TrialPair, ...]
    load_before: tuple[float, float, float]  # os.getloadavg() as the workers started
    load_after: tuple[float, float, float]  # ... and once the last pair was timed
    started: float  # time.time()
    ended: float
    method: str = METHOD  # two workers alive at once, taking turns

    def times(self) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float]]:
        """(candidate, reference) seconds by (prompt, seed): what ``reports.speedup`` pairs."""
        return ({(p.prompt_id, p.seed): p.candidate_s for p in self.pairs},
                {(p.prompt_id, p.seed): p.reference_s for p in self.pairs})

    @property
    def p50s(self) -> tuple[float, float]:
        """(candidate, reference) median seconds: the speedup is their ratio, reference over candidate."""
        return (statistics.median(p.candidate_s for p in self.pairs),
                statistics.median(p.reference_s for p in self.pairs))

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``speed_trial.json``, and tune's ``speed_trial``)."""
        return {**asdict(self), "order": " ".join(p.order for p in self.pairs), "n_pairs": len(self.pairs)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SpeedTrial:
        """Read :meth:`to_dict`'s form back."""
        return cls(d["reference"], d["candidate"], tuple(TrialPair(**p) for p in d["pairs"]),
                   tuple(d["load_before"]), tuple(d["load_after"]),  # type: ignore[arg-type]
                   d["started"], d["ended"], d["method"])


def schedule(n_pairs: int) -> list[int]:
    """Whose turn each image is (0: reference, 1: candidate): AB BA AB BA ...

    >>> schedule(3)
    [0, 1, 1, 0, 0, 1]
    """
    return [side for i in range(n_pairs) for side in ((0, 1) if i % 2 == 0 else (1, 0))]


def load_trial(run_dir: Path, reference: Variant, candidate: Variant,
               items: Sequence[WorkItem]) -> SpeedTrial | None:
    """The finished trial of exactly these variants and items, or None."""
    try:
        trial = SpeedTrial.from_dict(json.loads((run_dir / TRIAL_RECORD).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    same = (trial.reference == reference.id and trial.candidate == candidate.id
            and [(p.prompt_id, p.seed) for p in trial.pairs] == [i.key for i in items])
    return trial if same else None


def _forget(run_dir: Path) -> None:
    """Drop any earlier or half-done trial: its timings describe another session."""
    (run_dir / TRIAL_RECORD).unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (run_dir / (TRIAL_STORE + suffix)).unlink(missing_ok=True)
    shutil.rmtree(run_dir / TRIAL_IMAGES, ignore_errors=True)


def speed_trial(suite: Suite, run_dir: Path, device: str, progress: Progress, reference: Variant,
                candidate: Variant, items: Sequence[WorkItem]) -> SpeedTrial | str:
    """Time ``reference`` and ``candidate`` in alternation on ``items``; the trial, or why not.

    A finished trial of the same variants and items is read back, not timed again (a rerun
    of a finished tune replays its verdict). Anything else in the folder is dropped first.

    Args:
        suite: supplies the model, warm-up count and timeout.
        run_dir: the run folder.
        device: where both workers run.
        progress: where lines and the bar go.
        reference: the variant speedups are read against (the baseline).
        candidate: the variant being sold.
        items: the (prompt, seed) items, in pair order; their prompts are in the run's store.
    """
    from evalsuite.run.generators import alternate

    if (done := load_trial(run_dir, reference, candidate, items)) is not None:
        return done
    _forget(run_dir)
    if len(items) < 2:
        return "fewer than two prompts to time"
    # One warm-up at least: a cold first image (compilation, allocator) is not a warm latency.
    jobs = [WorkerJob.build(str(run_dir), v, suite.model, device, tuple(items), max(1, suite.run.warmup))
            .aside(TRIAL_STORE, TRIAL_IMAGES) for v in (reference, candidate)]
    jobs = [replace(j, calibration_items=calibration_items(suite)) if variant_wants_calibration(
        j.variant.accelerators) else j for j in jobs]  # "calibrate": fitted again, untimed, as in the run
    progress(f"speed trial: {reference.name} and {candidate.name} in turns on {len(items)} prompts")
    with Store(run_dir / TRIAL_STORE) as store:
        store.put_prompts((i.prompt_id, i.text, "", 0, "", {}) for i in items)
        for v in (reference, candidate):
            store.put_variant(v.id, v.name, v.describe())
        started, before = time.time(), os.getloadavg()
        timeout = None if suite.run.timeout_s is None else 2 * suite.run.timeout_s
        reasons = alternate(jobs, schedule(len(items)), store, timeout, progress)
        after, ended = os.getloadavg(), time.time()
        if any(reasons):
            named = zip((reference.name, candidate.name), reasons, strict=True)
            return "; ".join(f"{name}: {why}" for name, why in named if why)
        rows = {(r.variant_id, r.prompt_id, r.seed): r.latency_s
                for r in store.samples([reference.id, candidate.id])}
    pairs = tuple(TrialPair(i.prompt_id, i.seed, "AB" if n % 2 == 0 else "BA",
                            rows[(reference.id, *i.key)], rows[(candidate.id, *i.key)])
                  for n, i in enumerate(items))
    trial = SpeedTrial(reference.id, candidate.id, pairs, before, after, started, ended)
    tmp = run_dir / f".{TRIAL_RECORD}.tmp"
    tmp.write_text(json.dumps(trial.to_dict(), indent=2))
    os.replace(tmp, run_dir / TRIAL_RECORD)  # complete, or absent: never half a trial
    return trial
