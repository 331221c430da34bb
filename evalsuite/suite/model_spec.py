"""The model a variant generates with: ``[model]``, a variant's own ``model`` and ``lora``, and
the family checks a :class:`~evalsuite.suite.types.ModelResolver` makes before any work.

A ``[[variant]]`` may run another model beside the baseline (a distilled sibling):
``model = "..."`` (hub id, folder or tiny id, with optional ``revision`` and ``family``) and/or
``lora = { path = ..., weight_name = ..., scale = 1.0, fuse = true }``. Its steps, guidance and
size are the suite's ``[model]`` ones unless it sets its own. Model, revision and LoRA are part
of its identity (the variant id hashes them).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict
from typing import Any

from evalsuite.errors import UserError
from evalsuite.suite.overrides import GENERATION_KEYS, apply_overrides
from evalsuite.suite.types import LoraSpec, ModelResolver, ModelSpec, Variant

# The keys a [[variant]] writes for its own model (``model`` is ModelSpec.id).
VARIANT_MODEL_KEYS = ("model", "revision", "family", "lora")
_LORA_KEYS = {"path": str, "weight_name": str, "scale": float, "fuse": bool, "weight_name_2": str}


def parse_lora(source: str, where: str, value: Any) -> LoraSpec:
    """A ``lora`` table, checked key by key."""
    if isinstance(value, str):
        value = {"path": value}
    if not isinstance(value, dict):
        raise UserError(f"{source}: {where}: expected a table such as {{ path = \"lora.safetensors\" }}")
    for key, item in value.items():
        kind = _LORA_KEYS.get(key)
        if kind is None:
            raise UserError(f"{source}: {where}.{key}: unknown key (known: {', '.join(_LORA_KEYS)})")
        if kind is float and isinstance(item, int) and not isinstance(item, bool):
            item = float(item)
        if not isinstance(item, kind) or (kind is not bool and isinstance(item, bool)):
            raise UserError(f"{source}: {where}.{key}: expected {kind.__name__}, got {type(item).__name__}")
        value = {**value, key: item}
    if not value.get("path"):
        raise UserError(f"{source}: {where}.path: expected the LoRA's file, folder or hub id")
    if not math.isfinite(value.get("scale", 1.0)):
        raise UserError(f"{source}: {where}.scale: expected a finite number")
    return LoraSpec(**value)


def own_model_of(source: str, name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A ``[[variant]]``'s own model as ModelSpec overrides (``{}`` when it runs the suite's)."""
    where = f"variant.{name}"
    given = {k: raw[k] for k in VARIANT_MODEL_KEYS if k in raw}
    if not given:
        return {}
    for key in ("model", "revision", "family"):
        if key in given and (not isinstance(given[key], str) or not given[key]):
            hint = " (one model per [[variant]] table)" if isinstance(given[key], list) else ""
            raise UserError(f"{source}: {where}.{key}: expected a non-empty string{hint}")
    if "model" not in given and ("revision" in given or "family" in given):
        raise UserError(f"{source}: {where}: revision and family describe a variant's own model; "
                        "set model = \"...\" too")
    own: dict[str, Any] = {}
    if "model" in given:  # another model: nothing of the suite's model carries over
        own = {"id": given["model"], "revision": given.get("revision"), "family": given.get("family"),
               "lora": None}
    if "lora" in given:
        own["lora"] = parse_lora(source, f"{where}.lora", given["lora"])
    return own


def own_model_table(v: Variant) -> dict[str, Any]:
    """A variant's own model as its ``[[variant]]`` writes it (``id`` is written ``model``; unset
    keys left out), for the resolved suite file and summary.json."""
    table: dict[str, Any] = {}
    for key, value in v.model:
        if value is None:
            continue
        if key == "lora":
            value = {k: x for k, x in asdict(value).items() if x is not None}
        table["model" if key == "id" else key] = value
    return table


def resolve_model(resolver: ModelResolver, source: str, where: str, model: ModelSpec,
                  given: Collection[str]) -> ModelSpec:
    """``model`` with its family found and defaults filled in; UserError naming ``where``."""
    try:
        return resolver.resolve(model, given)
    except ValueError as exc:
        raise UserError(f"{source}: {where}: {str(exc).splitlines()[0]}") from None


def resolve_own(resolver: ModelResolver, source: str, name: str, model: ModelSpec,
                own: dict[str, Any]) -> dict[str, Any]:
    """A variant's own model with its family found and its LoRA checked (settings unchanged)."""
    if not own:
        return own
    resolved = resolve_model(resolver, source, f"variant.{name}", apply_overrides(model, own),
                             GENERATION_KEYS)
    return {**own, "family": resolved.family} if "id" in own else own


def unfit(resolver: ModelResolver, source: str, model: ModelSpec, variant: Variant) -> str | None:
    """The one-line refusal of the first technique of ``variant`` that does not fit its model's
    family, or None. ``model`` is the suite's ``[model]`` (resolved)."""
    mine = apply_overrides(model, dict(variant.model))
    if mine.family is None:
        return None
    for use in variant.accelerators:
        why = resolver.support(use.name, dict(use.params), mine.family)
        if why is not None:
            return (f"{source}: variant.{variant.name}.{use.name}: does not fit {mine.id} "
                    f"({resolver.title(mine.family)}): {why}")
    return None
