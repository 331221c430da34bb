"""Running the support matrix: every probe on every tiny built-in, on CPU, in this process.

One pipeline is loaded per family and shared by its cells. Isolation, cell by cell:

* a cache is applied to the shared pipeline, generates once, and is taken off with its
  library's own undo (``disable_cache``, hook removal, cache-dit's ``disable_cache``, deleting
  the ParaAttention adapter's instance attributes). The cell is ✓ only if it skipped steps,
  changed the output, and the next generation equals the baseline's latents bit for bit,
  which is also what makes the pipeline safe to hand to the next cell. If it does not, the
  pipeline is loaded again before the next cell;
* a technique with no undo (torchao, fuse_qkv, compile, channels_last, attention backends)
  runs on a deep copy of the pipeline, which is dropped afterwards. It is ✓ if it applied,
  generated finite latents, and its own after-run check (``Applied.check``) found no fault;
* ParaAttention's upstream ``apply_cache_on_pipe`` patches pipeline classes for good; our
  adapter patches only the instance (tests/evalsuite/accelerators/test_accel_removal.py), so
  it is a removable cache here like the others.

Everything runs at 32x32 with few steps: the matrix checks that each combination works,
not how fast or how well.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evalsuite.models.calibration import calibrate_in_process, wants_calibration
from evalsuite.models.support.cells import Cell, Column, expected
from evalsuite.models.support.probes import PROBES, Probe

STEPS = 6
SIZE = 32
PROMPTS = ("a red cube on a wooden table", "a lighthouse at dusk, oil painting")


@dataclass(frozen=True)
class FamilyRun:
    """A column as measured, with what it cost (printed, never written to the doc)."""

    column: Column
    cells: dict[str, Cell]  # probe label -> cell
    image_s: float  # one baseline generation
    total_s: float  # the whole column, load included


def _model(column: Column) -> Any:
    from evalsuite.models.families import get
    from evalsuite.models.families.video import TINY_FRAMES, VideoFamily
    from evalsuite.suite.types import ModelSpec

    family = get(column.family)
    video = isinstance(family, VideoFamily)  # a 9-frame clip at 32x32
    return ModelSpec(id=column.tiny_id, steps=STEPS, height=SIZE, width=SIZE, family=column.family,
                     guidance=family.defaults.guidance, device="cpu",
                     frames=TINY_FRAMES if video else None, fps=family.video.fps if video else None)


def latents(pipe: Any, model: Any, family: Any, prompt: str = PROMPTS[0]) -> Any:
    """The final latents of one generation, as float64 numbers (bit-exact comparisons)."""
    import torch

    kwargs = family.call_kwargs(model, prompt, 0)
    kwargs["output_type"] = "latent"
    with torch.no_grad():
        result = pipe(**kwargs)
        out = result.frames if family.output == "video" else result.images
    return out.detach().to(torch.float64).cpu().numpy().copy()


def measure_column(column: Column, log: Callable[[str], None] = print) -> FamilyRun:
    """Every probe on ``column``'s tiny built-in."""
    import numpy as np

    from evalsuite.models.families import family_of
    from evalsuite.models.pipeline import load_pipeline

    start = time.perf_counter()
    model = _model(column)
    pipe = load_pipeline(model, "cpu")
    family = family_of(model, pipe)
    t = time.perf_counter()
    base = latents(pipe, model, family)
    image_s = time.perf_counter() - t
    if not np.array_equal(latents(pipe, model, family), base):
        raise RuntimeError(f"{column.tiny_id} is not deterministic on this machine: two baseline "
                           "generations differ, so no removal can be checked")
    cells: dict[str, Cell] = {}
    for probe in PROBES:
        cell = expected(probe, column.family)
        if cell.kind == "ok":
            cell, clean = _run(probe, pipe, model, family, base)
            if not clean:  # the shared pipeline is no longer the baseline's
                pipe = load_pipeline(model, "cpu")
        cells[probe.label] = cell
        log(f"  {column.tiny_id:16} {probe.label:36} {cell.text()[:100]}")
    return FamilyRun(column, cells, image_s, time.perf_counter() - start)


def _run(probe: Probe, pipe: Any, model: Any, family: Any, base: Any) -> tuple[Cell, bool]:
    """(the cell, whether ``pipe`` still generates the baseline) for a probe expected to fit."""
    import numpy as np

    from evalsuite.accelerators import ACCELERATORS, Environment

    technique = ACCELERATORS.get(probe.accelerator)(family)
    try:
        params = _params(probe, pipe, model, family)
        technique.check_environment(params, Environment("cpu"))
        target = pipe if probe.remove is not None else copy.deepcopy(pipe)
        applied = technique.apply(target, params)
        try:
            out = latents(target, model, family)
        finally:
            if probe.remove is not None:
                probe.remove(pipe)
    except Exception as exc:  # noqa: BLE001 - any failure is the cell's finding
        return Cell("fails", _one_line(exc)), probe.remove is None
    if probe.remove is None:
        if not np.isfinite(out).all():
            return Cell("fails", "non-finite output"), True
        why = applied.check()
        return (Cell("fails", why) if why else Cell("ok")), True
    restored = np.array_equal(latents(pipe, model, family), base)
    counter = applied.counter
    if counter is None or counter.total_skipped == 0:
        why = "inert: it skipped no step at a setting far above the model's per-step change"
    elif np.array_equal(out, base):
        why = f"it skipped {counter.total_skipped} steps, yet the output equals the baseline's"
    elif not restored:
        why = "removing it did not restore the baseline's output exactly"
    else:
        return Cell("ok"), True
    return Cell("fails", why), restored


def _params(probe: Probe, pipe: Any, model: Any, family: Any) -> dict[str, Any]:
    """The probe's parameters, defaults filled in and validated as a suite would; a
    ``calibrate`` probe's numbers measured on the family's own baseline first."""
    from evalsuite.accelerators import ACCELERATORS

    schema = ACCELERATORS.get(probe.accelerator).params
    params = {key: p.validate(key, probe.params.get(key, p.default)) for key, p in schema.items()}
    if wants_calibration(probe.accelerator, params):
        params = calibrate_in_process(probe.accelerator, params, pipe, model, family, PROMPTS)
    return params


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:240] if text else ''}".rstrip(": ")
