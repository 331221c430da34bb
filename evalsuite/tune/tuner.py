"""``evalsuite tune``: a planner over ordinary variants.

It proposes a probe (the searched accelerator at one grid value, with the fixed
companions), lets the usual machinery generate and score it on a prompt subset, judges the
budgets with the CIs of ``reports.sequential``, and proposes the next (``tune_search``).
Every probe is a variant of the run's store, with the same id a grid sweep of the same
value would get, so the planner keeps no state of its own: a rerun (after ``kill -9``, say)
replays the same decisions from the stored images and scores and generates only what is
missing. Prompts are split once, by a hash of their ids: a holdout the search never sees,
then the search prompts, of which each look takes a growing prefix.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

import prompts as prompt_sets
from evalsuite.errors import UserError
from evalsuite.progress import Reporter
from evalsuite.run.runner import RunFolder
from evalsuite.store.db import Store
from evalsuite.store.schema import SampleStatus
from evalsuite.suite.spec import Suite, with_variants
from evalsuite.suite.tune_spec import TuneSpec
from evalsuite.suite.types import Variant
from evalsuite.tune.frontier import versus_fewer_steps
from evalsuite.tune.result import Holdout, Look, Probe, SpeedCheck, Timing, TuneResult
from evalsuite.tune.search import answer, next_index
from evalsuite.tune.variants import probe_settings, probed_suite
from evalsuite.tune.warm import (
    baseline_traces,
    predictable,
    predicted_skip_rate,
    record_traces,
    warm_indices,
)
from reports.metric_info import MetricInfo
from reports.records import Pricing
from reports.sequential import PASS, UNDECIDED, budget_interval, combine, final, judge, look_level, look_sizes

Key = tuple[str, int]


def prompt_split(selected: Sequence[prompt_sets.Prompt], tune: TuneSpec,
                 source: str) -> tuple[list, list]:
    """(search prompts, holdout prompts): a fixed order by hash of the prompt id.

    Hashing instead of file order keeps each look's prefix a spread of the whole set (files
    are often sorted by category) and keeps the split stable when prompts are appended.
    ``source`` (the suite file) names where a too-large holdout or first look was asked for.
    """
    ordered = sorted(selected, key=lambda p: hashlib.sha256(f"tune:{p.id}".encode()).hexdigest())
    need = tune.holdout + tune.first_prompts
    if len(ordered) < need:
        key = "holdout" if tune.holdout >= len(ordered) else "first_prompts"
        raise UserError(f"{source}: tune.{key}: the suite selects {len(ordered)} prompts; the holdout "
                        f"({tune.holdout}) and a first look ({tune.first_prompts}) need {need}")
    holdout, search = ordered[:tune.holdout], ordered[tune.holdout:]
    if tune.max_prompts is not None:
        search = search[:tune.max_prompts]
    return search, holdout


def warm_note(traces: Sequence[object], tune: TuneSpec) -> str:
    """How the first probes were placed, for the output."""
    if not predictable(tune):
        return f"none: no trace model for {tune.accelerator}.{tune.parameter}; bracketed from the range"
    if not traces:
        return "none: the baseline recorded no decision trace; bracketed from the range"
    what = "the fixed companions'" if tune.fixed else "the baseline's"
    return f"{what} trace of {len(traces)} images: first probes at predicted 1.5x/2x/2.5x/3x"


@dataclass
class Planner:
    """Drives one tune over a locked run folder."""

    suite: Suite
    folder: RunFolder
    store: Store
    device: str
    progress: Reporter
    pricing: Pricing
    search: list[prompt_sets.Prompt] = field(default_factory=list)
    holdout: list[prompt_sets.Prompt] = field(default_factory=list)
    used: set[tuple[str, str, int]] = field(default_factory=set)  # (variant, prompt, seed) needed
    scorers: dict[str, Any] = field(default_factory=dict)  # loaded once, reused by every look

    @property
    def tune(self) -> TuneSpec:
        """The suite's ``[tune]`` table."""
        assert self.suite.tune is not None
        return self.suite.tune

    def probe_suite(self, index: int) -> Suite:
        """Baseline plus the probe at grid ``index``."""
        return with_variants(self.suite, [probe_settings(self.tune, self.tune.value(index))])

    def ensure(self, view: Suite, chosen: Sequence[prompt_sets.Prompt]) -> list[str]:
        """Generate and score what ``view``'s variants lack on ``chosen``; return failed variants."""
        from evalsuite.run.plan import suite_items
        from evalsuite.run.runner import generate_items
        from evalsuite.score.scoring import score_run

        for v in view.variants:
            self.used.update((v.id, p.id, s) for p in chosen for s in view.prompts.seeds)
        failed = generate_items(self.folder, view, view.variants, suite_items(chosen, view.prompts.seeds),
                                device=self.device, progress=self.progress)
        score_run(view, self.folder.path, self.store, self.device, self.progress, keep=self.scorers)
        return failed

    def look(self, view: Suite, variant: Variant, chosen: Sequence[prompt_sets.Prompt],
             level: float) -> Look:
        """Judge every budget for ``variant`` on ``chosen`` at CI ``level``."""
        from metrics import SCORERS

        keys = {(p.id, s) for p in chosen for s in view.prompts.seeds}
        base = view.baseline_variant
        rows = [r for r in self.store.scores() if (r.prompt_id, r.seed) in keys]
        looks = []
        for budget in self.tune.budgets:
            info = MetricInfo.of(SCORERS.get(budget.metric))
            mine = {(r.prompt_id, r.seed): r.value for r in rows
                    if r.variant_id == variant.id and r.metric == budget.metric}
            ref = {(r.prompt_id, r.seed): r.value for r in rows
                   if r.variant_id == base.id and r.metric == budget.metric}
            looks.append(judge(budget, budget_interval(budget, info, mine, ref, level)))
        return Look(len(chosen), level, combine(looks), tuple(looks))

    def timing(self, view: Suite, variant: Variant, chosen: Sequence[prompt_sets.Prompt]) -> Timing:
        """Mean latency, speedup (with its CI) over the baseline on the same images, skip rate,
        $/1000 images: each probe's and holdout's, from the search's own timings. They orient
        (the skip rate is what the fewer-steps check needs); the speed verdict comes from the
        speed trial alone (:meth:`speed_check`)."""
        from reports.records import cost_per_image
        from reports.speedup import speedup_entry

        keys = {(p.id, s) for p in chosen for s in view.prompts.seeds}
        base = view.baseline_variant
        rows = [r for r in self.store.samples([variant.id, base.id])
                if (r.prompt_id, r.seed) in keys and r.status == SampleStatus.OK and r.latency_s]
        mine = [r for r in rows if r.variant_id == variant.id]
        if not mine:
            return Timing(None, None, None, None)
        latency = statistics.fmean(r.latency_s for r in mine)
        steps = sum((r.steps_computed or 0) + (r.steps_skipped or 0) for r in mine)
        skipped = sum(r.steps_skipped or 0 for r in mine)
        cost = cost_per_image(latency, self.pricing.usd_per_hour, self.pricing.gpus)
        speed = speedup_entry({(r.prompt_id, r.seed): r.latency_s for r in mine},
                              {(r.prompt_id, r.seed): r.latency_s for r in rows
                               if r.variant_id == base.id}, is_baseline=variant.id == base.id)
        return Timing(latency, speed, skipped / steps if steps else None, cost * 1000)

    def probe(self, order: int, index: int) -> Probe:
        """Judge one grid point on growing prompt prefixes until a look decides it."""
        view = self.probe_suite(index)
        variant = view.variants[-1]
        sizes = look_sizes(self.tune.first_prompts, len(self.search))
        level = look_level(self.tune.confidence, len(sizes))
        looks: list[Look] = []
        error = None
        for n in sizes:
            chosen = self.search[:n]
            if variant.name in self.ensure(view, chosen):
                error = next(v.error for v in self.store.variants() if v.id == variant.id)
                break
            looks.append(self.look(view, variant, chosen, level))
            self.progress(f"  probe {order}: {variant.name} on {n} prompts: {looks[-1].verdict}")
            if looks[-1].verdict != UNDECIDED:
                break
        passed = error is None and bool(looks) and final(looks[-1].verdict) == PASS
        chosen = self.search[:looks[-1].n_prompts] if looks else []
        return Probe(order, index, self.tune.value(index), variant.name, variant.id, tuple(looks),
                     passed, self.timing(view, variant, chosen), None, error)

    def confirm(self, winner: Probe, setting: tuple[tuple[str, Any], ...] = ()) -> Holdout:
        """The winner on the holdout prompts, judged once at the plain confidence level.

        With a ``setting`` (e.g. ``steps = 20``) both the winner and the baseline it is
        compared with generate at that setting: the cache's effect at 20 steps is measured
        against 20 steps without it.
        """
        view = with_variants(self.suite, [probe_settings(self.tune, winner.value)], **dict(setting))
        variant = view.variants[-1]
        failed = self.ensure(view, self.holdout)
        look = self.look(view, variant, self.holdout, self.tune.confidence)
        certified = not failed and look.verdict == PASS
        self.progress(f"  holdout{' at ' + str(dict(setting)) if setting else ''}: {look.verdict}")
        return Holdout(len(self.holdout), look, certified, self.timing(view, variant, self.holdout),
                       dict(setting))

    def run(self) -> TuneResult:
        """Search, confirm the winner, and summarise."""
        tune = self.tune
        probes: list[Probe] = []
        outcomes: dict[int, bool] = {}
        if predictable(tune):  # the warm start's trace; a resumed tune finds it done
            record_traces(self.folder.path, self.suite, self.search, self.device, self.progress)
        traces = baseline_traces(self.folder.path, self.suite)
        while (index := next_index(tune.n_points, outcomes, warm_indices(traces, tune))) is not None:
            probe = self.probe(len(probes) + 1, index)
            predicted = predicted_skip_rate(traces, tune, probe.value)
            probes.append(dataclasses.replace(probe, predicted_skip_rate=predicted))
            outcomes[index] = probe.passed
        best = answer(tune.n_points, outcomes)
        winner = next((p for p in probes if p.index == best), None)
        holdouts = ((self.confirm(winner), *(self.confirm(winner, c) for c in tune.confirm))
                    if winner is not None else ())
        speed = self.speed_check(winner)
        vs_fewer = None if winner is None else {"verdict": None, "reason": "[tune] fewer_steps = false"}
        if winner is not None and tune.fewer_steps:
            vs_fewer = versus_fewer_steps(self.suite, self.store, self.holdout, self.ensure, winner,
                                          holdouts[0].timing.skip_rate)
        per_point = len(self.search) * len(self.suite.prompts.seeds)
        return TuneResult(spec=tune, probes=tuple(probes), winner=winner, holdouts=holdouts,
                          images_generated=len(self.used), grid_images=(tune.n_points + 1) * per_point,
                          search_prompts=len(self.search), vs_fewer_steps=vs_fewer,
                          warm_start=warm_note(traces, tune), speed=speed, traced_images=len(traces))

    def speed_check(self, winner: Probe | None) -> SpeedCheck | None:
        """The winner against the baseline in a speed trial of their own: both alive at once,
        timed in turns on the first ``speed_prompts`` search prompts (``run.speed_trial``).

        The search's timings are never read here: they were taken minutes apart, perhaps
        before a ``kill -9`` and after a resume, under whatever load each moment had. A
        speedup whose CI reaches 1x is noise, and a setting is never sold for it.
        """
        from evalsuite.run.plan import suite_items
        from evalsuite.run.speed_trial import speed_trial
        from reports.records import cost_per_image
        from reports.speedup import no_credible_gain, speedup_entry

        if winner is None:
            return None
        view = self.probe_suite(winner.index)
        base, variant = view.variants[0], view.variants[-1]
        items = suite_items(self.search[:self.tune.speed_prompts], view.prompts.seeds)
        trial = speed_trial(view, self.folder.path, self.device, self.progress, base, variant, items)
        if isinstance(trial, str):
            return SpeedCheck(None, None, None, f"no speed trial: {trial}")
        mine, ref = trial.times()
        speed = speedup_entry(mine, ref, is_baseline=False)
        cost = cost_per_image(statistics.fmean(mine.values()), self.pricing.usd_per_hour, self.pricing.gpus)
        self.progress(f"  speed trial: {speed.estimate:.3g}x over {len(trial.pairs)} pairs")
        return SpeedCheck(trial, speed, cost * 1000, no_credible_gain(speed))


@contextmanager
def open_planner(suite: Suite, run_dir: Path, progress: Reporter) -> Iterator[Planner]:
    """Validate, lock and prepare ``run_dir`` for ``suite``'s ``[tune]``; yield its planner."""
    from evalsuite.analysis.reporting import resolve_pricing
    from evalsuite.run.manifest import write_manifest
    from evalsuite.run.runner import prepare_run, validate_run
    from evalsuite.run.world import resolve_device

    if suite.tune is None:
        raise UserError(f"{suite.source}: tune: the suite has no [tune] table")
    try:  # the probes' companions must combine with the searched accelerator
        ends = with_variants(suite, [probe_settings(suite.tune, suite.tune.value(i))
                                     for i in (0, suite.tune.n_points - 1)])
    except UserError as exc:
        raise UserError(f"{suite.source}: tune.fixed: {exc}") from None
    device = resolve_device(suite.model.device)
    selected = validate_run(ends, device)
    search, holdout = prompt_split(selected, suite.tune, suite.source)
    with RunFolder(run_dir) as folder:
        prepare_run(with_variants(suite, []), folder, selected)
        gpu = write_manifest(run_dir, suite, device).get("hardware", {}).get("gpu")
        with folder.open_store() as store:
            yield Planner(suite, folder, store, device, progress, resolve_pricing(suite, gpu),
                          search, holdout)


def run_tune(suite: Suite, run_dir: Path, progress: Reporter) -> TuneResult:
    """Tune ``suite``'s ``[tune]`` parameter into ``run_dir`` (resuming what is there).

    Writes the run folder as ``run`` does (suite.toml with the probes as variants,
    summary.json, report/) plus ``tune.json`` and ``report/tune.html``.
    """
    from evalsuite.analysis.reporting import write_reports
    from reports.tune_chart import tune_page

    with open_planner(suite, run_dir, progress) as planner:
        result = planner.run()
        # The run folder reads like any run: its suite lists the probes as variants.
        probed = probed_suite(suite, [p.value for p in result.probes])
        (run_dir / "suite.toml").write_text(tomli_w.dumps(probed.to_dict()), encoding="utf-8")
        write_reports(probed, run_dir, planner.store)
        (run_dir / "tune.json").write_text(json.dumps(result.to_dict(), indent=2))
        (run_dir / "report" / "tune.html").write_text(tune_page(result.to_dict()), encoding="utf-8")
    return result
