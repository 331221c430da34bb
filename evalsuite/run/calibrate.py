"""``evalsuite calibrate SUITE``: a cache's per-model numbers, with how far to trust them.

1. Trace the baseline's first ``[calibrate] prompts`` prompts, untimed, resumably, in a worker
   of its own (:mod:`evalsuite.run.calibrate_trace`); under torchrun each rank traces its share.
2. Rank 0 fits each cache on all but the last ``holdout`` prompts and judges the fit on those
   (``reports.calibrate_fit``: held-out R² with a bootstrap CI over prompts, stability as
   prompts are added, thresholds placed at target skip rates).
3. It runs each cache with the fitted numbers at those thresholds on the held-out prompts (an
   ordinary, resumable variant each) and sets the skip rate measured beside the predicted one.
4. ``--check-transfer`` traces again at each transfer setting and asks whether the numbers
   still serve there (``reports.calibrate_transfer``).
5. It writes the consumers' files into ``exports/`` and then ``calibration.json``, each
   atomically: a killed run leaves the previous files or none, never a torn one.

The output folder is a run folder of its own (locked, with its suite.toml and store).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import prompts as prompt_sets
from evalsuite.errors import UserError
from evalsuite.progress import Progress
from evalsuite.run.calibrate_trace import ordered, trace_share, traced
from evalsuite.run.generators import start_worker_server
from evalsuite.run.plan import suite_items
from evalsuite.run.runner import RunFolder, generate_items, prepare_run
from evalsuite.run.work import WorkItem
from evalsuite.run.world import World, connect, rank_progress, resolve_device
from evalsuite.suite.build import make_variant
from evalsuite.suite.calibrate_spec import CalibrateSpec, check_counts
from evalsuite.suite.spec import Suite
from evalsuite.suite.types import Variant
from reports.calibrate_fit import FITTED, calibrate_cache, check_skips
from reports.calibrate_records import (
    CacheFit,
    CalibrationFile,
    ModelIdentity,
    TransferCheck,
    TransformerCalibration,
)
from reports.calibrate_transfer import transfer_check
from reports.traces import THRESHOLD_PARAM, ImageTrace

CALIBRATION = "calibration.json"
EXPORTS = "exports"


@dataclass(frozen=True)
class CalibrateOutcome:
    """What a calibrate run produced (``calibration`` is None on torchrun ranks other than 0)."""

    out_dir: Path
    calibration: CalibrationFile | None
    files: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()


def validate_calibrate(suite: Suite, spec: CalibrateSpec) -> list[prompt_sets.Prompt]:
    """Everything that can reject the input, before any work: the prompts, the model, each cache."""
    from evalsuite.models import families

    try:
        selected = prompt_sets.resolve_prompts(suite.prompts)
    except prompt_sets.PromptError as exc:
        raise UserError(f"{suite.source}: {exc}") from None
    check_counts(suite.source, spec.prompts, spec.holdout, len(selected))
    family = families.get(suite.model.family or "generic")
    if not family.modulated_norm1:
        raise UserError(f"{suite.source}: calibrate: the tracer reads block 0's modulated input (FLUX.1, "
                        f"SD3.5, Wan), and {family.title}'s blocks are built otherwise; in a run, magcache = "
                        '{ mag_ratios = "calibrate" } measures MagCache\'s ratios on any model it runs on')
    for cache in spec.caches:
        params = {**spec.given(cache), **({FITTED[cache]: "calibrate"} if cache in FITTED else {})}
        if (why := families.support(cache, family.name, params)) is not None:
            raise UserError(f"{suite.source}: calibrate.caches: {cache} does not fit {suite.model.id} "
                            f"({family.title}): {why}")
    return selected[:spec.prompts]


def base_params(suite: Suite, spec: CalibrateSpec, cache: str) -> dict[str, Any]:
    """``cache``'s parameters with defaults filled in, less the one calibrate fits."""
    variant = make_variant(suite.model, cache, {cache: spec.given(cache)}, source=suite.source)
    params = dict(variant.accelerators[0].params)
    params.pop(FITTED.get(cache, ""), None)
    return params


def transfer_variants(suite: Suite, spec: CalibrateSpec) -> list[tuple[dict[str, Any], Variant]]:
    """One variant per transfer setting: the baseline at other settings or with a technique."""
    out = []
    for setting in spec.transfer:
        given = dict(setting)
        gen = {k: v for k, v in given.items() if not isinstance(v, dict)}
        accs = {k: v for k, v in given.items() if isinstance(v, dict)}
        name = "transfer-" + "-".join(f"{k}{v}" if k in gen else k for k, v in given.items())
        out.append((given, make_variant(suite.model, name, accs, source=suite.source, generation=gen)))
    return out


def run_calibrate(suite: Suite, spec: CalibrateSpec, out_dir: Path, progress: Progress,
                  check_transfer: bool = False) -> CalibrateOutcome:
    """Trace, fit, measure and write; resumable. See the module docstring."""
    start_worker_server()
    world = World.from_env()
    progress = rank_progress(progress, world)
    device = world.device(resolve_device(suite.model.device))
    selected = validate_calibrate(suite, spec)  # every rank: each reads the suite itself
    if check_transfer and not spec.transfer:
        raise UserError(f"{suite.source}: --check-transfer: no settings to check (set [calibrate] transfer, "
                        "or [tune] confirm)")
    items = suite_items(selected, suite.prompts.seeds)
    settings = transfer_variants(suite, spec) if check_transfer else []
    fn = tuple(sorted({int(base_params(suite, spec, "cache_dit")["Fn_compute_blocks"])}
                      if "cache_dit" in spec.caches else ()))
    control = connect(world)
    folder = None
    try:
        error = None
        if world.rank == 0:
            try:
                folder = RunFolder(out_dir)
                prepare_run(replace(suite, variants=(suite.baseline_variant, *(v for _, v in settings))),
                            folder, selected)
            except UserError as exc:
                error = str(exc)
        if (error := control.broadcast(error)) is not None:
            raise UserError(error)
        notes = []
        for variant in (suite.baseline_variant, *(v for _, v in settings)):
            if (why := trace_share(suite, out_dir, variant, items, world, device, fn, progress)) is not None:
                notes.append(f"{variant.name}: {why}")
        control.barrier()
        if world.rank != 0:
            return CalibrateOutcome(out_dir, None)
        assert folder is not None
        base = {name: ordered(ts, items) for name, ts in traced(out_dir, suite.baseline_variant).items()}
        if not base or any(len(ts) < len(items) for ts in base.values()):
            missing = len(items) - min((len(ts) for ts in base.values()), default=0)
            raise UserError(f"calibrate: {missing} of {len(items)} baseline images could not be traced "
                            f"({'; '.join(notes) or 'no reason recorded'}); rerun to resume")
        cal = _fit(suite, spec, base, items, folder, device, progress)
        if settings:
            cal = replace(cal, transfer=_transfer(cal, base, settings, out_dir, items, spec.min_r2))
        files = write_outputs(out_dir, cal)
        return CalibrateOutcome(out_dir, cal, tuple(files), tuple(notes))
    finally:
        if world.size > 1:
            control.barrier()  # no rank exits (and makes torchrun stop the others) before rank 0 is done
        control.close()
        if folder is not None:
            folder.close()


def _fit(suite: Suite, spec: CalibrateSpec, traces: Mapping[str, Sequence[ImageTrace]],
         items: Sequence[WorkItem], folder: RunFolder, device: str, progress: Progress) -> CalibrationFile:
    """Fit every cache per transformer on the fit prompts; measure its checks on the held-out ones.

    A cache runs with one set of numbers on every expert, so per-expert fits (Wan 2.2) keep
    their checks predicted only.
    """
    held = set(list(dict.fromkeys(i.prompt_id for i in items))[-spec.holdout:])  # the last prompts
    out = []
    for name, ts in traces.items():
        fit = [t for t in ts if t.prompt_id not in held]
        holdout = [t for t in ts if t.prompt_id in held]
        fits = []
        for cache in spec.caches:
            try:
                fits.append(calibrate_cache(cache, fit, holdout, base_params(suite, spec, cache), spec.min_r2,
                                            spec.skip_rates))
            except (KeyError, ValueError) as exc:
                raise UserError(f"calibrate: {cache} on {name}: the traces cannot give its fit: "
                                f"{exc}") from None
        if len(traces) == 1:
            fits = _measure(suite, fits, holdout, [i for i in items if i.prompt_id in held], folder, device,
                            progress)
        out.append(TransformerCalibration(name, ts[0].steps, tuple(fits)))
    m = suite.model
    return CalibrationFile(
        ModelIdentity(m.id, m.revision, m.family, m.dtype),
        {"steps": m.steps, "guidance": m.guidance, "height": m.height, "width": m.width},
        spec.prompts, spec.holdout, tuple(suite.prompts.seeds), spec.min_r2, tuple(out))


def check_variant(suite: Suite, fit: CacheFit, threshold: float) -> Variant:
    """The variant that measures ``fit`` at ``threshold``."""
    params = {**fit.base, **fit.params, THRESHOLD_PARAM[fit.cache]: threshold}
    return make_variant(suite.model, f"check-{fit.cache}-{threshold:g}", {fit.cache: params},
                        source=suite.source)


def _measure(suite: Suite, fits: Sequence[CacheFit], holdout: Sequence[ImageTrace], items: Sequence[WorkItem],
             folder: RunFolder, device: str, progress: Progress) -> list[CacheFit]:
    """Each check's threshold run for real on the held-out images (ordinary, resumable variants)."""
    variants = {(f.cache, c.threshold): check_variant(suite, f, c.threshold) for f in fits for c in f.checks}
    if variants:
        quiet = replace(suite, run=replace(suite.run, warmup=0))
        failed = generate_items(folder, quiet, tuple(variants.values()), items, device=device,
                                progress=progress)
        for name in failed:
            progress(f"measuring {name} failed: its check stays unmeasured")
    with folder.open_store() as store:
        rows = store.samples([v.id for v in variants.values()])
    steps = holdout[0].steps if holdout else 0
    out = []
    for f in fits:
        checks = []
        for c in f.checks:
            vid = variants[(f.cache, c.threshold)].id
            skipped = {(r.prompt_id, r.seed): per_stream(r.steps_skipped, r.steps_computed, steps)
                       for r in rows if r.variant_id == vid and r.steps_skipped is not None
                       and r.steps_computed is not None and r.status != "failed"}
            checks.append(check_skips(holdout, f.cache, {**f.base, **f.params}, c.threshold, c.target,
                                      skipped or None))
        out.append(replace(f, checks=tuple(checks)))
    return out


def per_stream(skipped: int, computed: int, steps: int) -> int:
    """Skipped calls as skipped steps of one stream: a pipeline with classifier-free guidance
    calls the transformer twice a step (Wan's "cond" and "uncond" streams, each cached apart),
    and the traces follow one stream."""
    calls = skipped + computed
    return round(skipped * steps / calls) if calls else 0


def _transfer(cal: CalibrationFile, base: Mapping[str, Sequence[ImageTrace]],
              settings: Sequence[tuple[dict[str, Any], Variant]], out_dir: Path, items: Sequence[WorkItem],
              min_r2: float) -> tuple[TransferCheck, ...]:
    checks = []
    for setting, variant in settings:
        there = {name: ordered(ts, items) for name, ts in traced(out_dir, variant).items()}
        for t in cal.transformers:
            if not there.get(t.name):
                raise UserError(f"calibrate --check-transfer: {variant.name} could not be traced on "
                                f"{t.name}; rerun to resume")
            for fit in t.caches:
                checks.append(transfer_check(setting, t.name, fit, base[t.name], there[t.name], min_r2))
    return tuple(checks)


def write_outputs(out_dir: Path, cal: CalibrationFile) -> list[Path]:
    """The consumers' files, then ``calibration.json`` (each atomically)."""
    import json

    from reports.calibration_exports import render_all
    from reports.files import write_atomic
    from reports.jsonio import to_json

    written = []
    (out_dir / EXPORTS).mkdir(exist_ok=True)
    for files in render_all(cal).values():
        for name, text in files.items():
            write_atomic(out_dir / EXPORTS / name, text)
            written.append(out_dir / EXPORTS / name)
    write_atomic(out_dir / CALIBRATION, json.dumps(to_json(cal, "null"), indent=2) + "\n")
    return [out_dir / CALIBRATION, *written]
