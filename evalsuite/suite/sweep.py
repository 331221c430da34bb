"""Model sweeps: one suite file, run on several models (``[model] id = ["tiny-flux", ...]``).

A suite compares variants against one baseline, and paired metrics compare images of one
model, so a sweep over models is one ordinary suite per model, each with its own baseline,
run folder and report: ``runs/<name>/<model>/``. ``evalsuite run`` runs them one after the
other (one command, one worker server); ``score``, ``report`` and ``recommend`` take each
model's folder as they take any run folder.

A technique that does not fit one model's family (FirstBlockCache on Sana, where diffusers'
block hooks know no Sana block) is left out for that model and said so in one line, before
anything runs; in a plain suite the same is an error (exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evalsuite.errors import UserError
from evalsuite.suite.spec import Suite, parse_suite, read_suite_file
from evalsuite.suite.types import ModelResolver


@dataclass(frozen=True)
class SweepMember:
    """One model of a sweep: its folder under the sweep's run folder, its suite, and the
    variants left out because they do not fit its family (one line each)."""

    key: str  # "" for a suite that is not a sweep (its run folder is the run folder itself)
    suite: Suite
    refused: tuple[str, ...] = ()


def model_key(model_id: str) -> str:
    """A folder name for ``model_id``: ``Qwen/Qwen-Image`` -> ``Qwen--Qwen-Image``."""
    key = re.sub(r"[^A-Za-z0-9._-]+", "-", model_id.strip("/").replace("/", "--")).strip("-.")
    return key or "model"


def sweep_ids(source: str, raw: Mapping[str, Any]) -> list[str] | None:
    """The models of a sweep, or None for a suite with one model."""
    table = raw.get("model", {})
    ids = table.get("id") if isinstance(table, dict) else None
    if not isinstance(ids, list):
        return None
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise UserError(f"{source}: model.id: expected a model id or a non-empty list of them")
    if len({model_key(i) for i in ids}) < len(ids):
        raise UserError(f"{source}: model.id: a model is listed twice")
    if "family" in table:
        raise UserError(f"{source}: model.family: a model sweep finds each model's family; "
                        "leave family out (or write one suite per family)")
    return ids


def load_suites(ref: str | None, resolver: ModelResolver | None = None) -> tuple[str, list[SweepMember]]:
    """(the suite's name, one member per model) for a suite file or built-in name.

    A suite with one model is one member with key ``""``.
    """
    raw, path = read_suite_file(ref)
    source = str(path)
    ids = sweep_ids(source, raw)
    name = raw.get("name", path.stem)
    if ids is None:
        return str(name), [SweepMember("", parse_suite(raw, source, path.parent, resolver))]
    members = []
    for model_id in ids:
        refused: list[str] = []
        one = {**raw, "name": f"{name}-{model_key(model_id)}", "model": {**raw["model"], "id": model_id}}
        suite = parse_suite(one, source, path.parent, resolver, refused)
        members.append(SweepMember(model_key(model_id), suite, tuple(refused)))
    return str(name), members
