"""``calibration = "calibration.json"`` on a variant (or in ``[tune]``): numbers from ``evalsuite calibrate``.

The file's model identity (hub id, revision, family) must be the variant's model; its fit of
the variant's cache fills that cache's per-model parameter (TeaCache's ``coefficients``,
MagCache's ``mag_ratios``) before the variant's id is computed, so the numbers are part of the
variant's identity. A fit the calibration judged too poor to trust is refused unless the
table says ``force = true``: ``calibration = { path = "calibration.json", force = true }``.
A relative path starts at the suite file's folder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evalsuite.errors import UserError, spec_error
from evalsuite.suite.types import ModelSpec
from reports.calibrate_fit import FITTED
from reports.calibrate_records import KIND, SCHEMA_VERSION, CalibrationFile
from reports.jsonio import SchemaError, from_json


def read_calibration(path: Path, where: str = "calibration") -> CalibrationFile:
    """``calibration.json`` as written by ``evalsuite calibrate``; UserError (one line) otherwise."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{where}: cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{where}: {path} is not JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("kind") != KIND:
        raise UserError(f"{where}: {path} is not a calibration.json written by `evalsuite calibrate`")
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise UserError(f"{where}: {path} has schema_version {raw.get('schema_version')!r}; this evalsuite "
                        f"reads {SCHEMA_VERSION}: calibrate again")
    try:
        return from_json(CalibrationFile, raw)
    except SchemaError as exc:
        raise UserError(f"{where}: {path}: {exc}") from None


def check_identity(cal: CalibrationFile, model: ModelSpec, where: str, path: Path) -> None:
    """The file was made on ``model`` (id, revision and, where both know it, family)."""
    m = cal.model
    mine = f"{model.id}" + (f"@{model.revision}" if model.revision else "")
    theirs = f"{m.id}" + (f"@{m.revision}" if m.revision else "")
    if (m.id, m.revision) != (model.id, model.revision):
        raise UserError(f"{where}: {path} was calibrated for {theirs} ({m.family}), not for {mine}")
    if m.family is not None and model.family is not None and m.family != model.family:
        raise UserError(f"{where}: {path} was calibrated for the {m.family} family, and {mine} is "
                        f"{model.family}")


def parse_reference(source: str, where: str, value: Any, base_dir: Path) -> tuple[Path, bool]:
    """``"path"`` or ``{ path = "...", force = true }`` -> (absolute path, force)."""
    if isinstance(value, str):
        value = {"path": value}
    if not isinstance(value, dict) or not isinstance(value.get("path"), str) or not value["path"]:
        raise spec_error(source, where,
                         'expected "calibration.json" or { path = "calibration.json", force = true }')
    for key in value:
        if key not in ("path", "force"):
            raise spec_error(source, f"{where}.{key}", "unknown key (known: path, force)")
    force = value.get("force", False)
    if not isinstance(force, bool):
        raise spec_error(source, f"{where}.force", f"expected true or false, got {force!r}")
    path = Path(value["path"]).expanduser()
    return (path if path.is_absolute() else base_dir / path), force


def calibrated_params(source: str, where: str, value: Any, base_dir: Path, model: ModelSpec,
                      accelerators: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``accelerators`` (name -> parameters given) with the file's numbers filled in.

    Raises:
        UserError: a bad reference or file, another model's file, a fit too poor to trust
            without ``force``, no calibrated cache in ``accelerators``, numbers given twice.
    """
    path, force = parse_reference(source, where, value, base_dir)
    cal = read_calibration(path, f"{source}: {where}")
    check_identity(cal, model, f"{source}: {where}", path)
    out = {name: dict(params) for name, params in accelerators.items()}
    used = [name for name in out if name in FITTED]
    if not used:
        raise spec_error(source, where, f"the variant has none of the caches a calibration fits "
                         f"({', '.join(FITTED)})")
    for name in used:
        key = FITTED[name]
        if key in out[name]:
            raise spec_error(source, f"{where}", f"{name}.{key} is given here and by {path.name}: keep one")
        fits = [t.cache(name) for t in cal.transformers]
        if len(cal.transformers) != 1:
            raise spec_error(source, where, f"{path.name} holds per-expert numbers "
                             f"({', '.join(t.name for t in cal.transformers)}); {name} takes one table")
        fit = fits[0]
        if fit is None:
            raise spec_error(source, where, f"{path.name} has no {name} fit (it calibrated "
                             f"{', '.join(c.cache for c in cal.transformers[0].caches)})")
        if not fit.trusted and not force:
            written = value if isinstance(value, str) else value["path"]
            why = fit.verdict.split(";")[0].removeprefix("too poor to trust: ")
            raise spec_error(source, where, f"{path.name}'s {name} fit is too poor to trust ({why}); "
                             f'use it anyway with calibration = {{ path = "{written}", force = true }}')
        out[name][key] = list(fit.params[key])
    return out
