"""Variants built from their settings: the one place a ``Variant`` is made.

The parser builds each expanded ``[[variant]]`` table here, and ``tune`` builds its probes,
holdout checks and fewer-steps references here too (``spec.with_variants``), without
writing a table and parsing it back. Both go through :func:`make_variant`, so a probe gets
the very name and id the same value gets in a hand-written sweep (a tune and a grid share
their images).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from evalsuite.accelerators import ACCELERATORS
from evalsuite.endpoints import EndpointSpec
from evalsuite.errors import UserError, spec_error
from evalsuite.suite.overrides import apply_overrides
from evalsuite.suite.types import AcceleratorUse, ModelSpec, Variant
from reports.records import SweepAxis

Params = tuple[tuple[str, Any], ...]


# ModelSpec fields added after runs were stored: hashed only when set, so older variants keep
# their ids. ``family`` is never hashed: it is a fact about the model (found from its
# model_index.json), and the same suite parsed with or without that lookup must agree.
_HASHED_WHEN_SET = ("negative_prompt", "lora", "frames", "fps")


def model_identity(model: ModelSpec) -> dict[str, Any]:
    """The model settings a variant's id hashes (the model, its revision and LoRA included)."""
    body = asdict(model)
    body.pop("family", None)
    if body.get("lora") and body["lora"].get("weight_name_2") is None:  # added later, hashed when set
        body["lora"].pop("weight_name_2")
    for key in _HASHED_WHEN_SET:
        if body.get(key) is None:
            body.pop(key, None)
    return body


def variant_id(model: ModelSpec, accelerators: tuple[AcceleratorUse, ...], seed_offset: int = 0,
               endpoint: EndpointSpec | None = None) -> str:
    """Hash of the canonical JSON of everything that changes a variant's images."""
    # A renamed technique hashes under its first name, so a rename never re-generates work.
    body: dict[str, Any] = {"model": model_identity(model), "accelerators": [
        [ACCELERATORS.first_name(a.name), dict(a.params)] for a in accelerators]}
    if seed_offset:
        body["seed_offset"] = seed_offset
    if endpoint is not None:  # prices, limits and the key's variable do not change images
        body["endpoint"] = endpoint.identity()
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def check_combination(source: str, name: str, accs: Mapping[str, Any]) -> None:
    """At most one cache, and every pairwise rule the techniques declare."""
    caches = [a for a in accs if ACCELERATORS.get(a).family == "cache"]
    if len(caches) > 1:
        raise UserError(f"{source}: variant.{name}: combines caches {' and '.join(caches)}; each "
                        "replaces the same blocks' forward, so at most one cache per variant")
    for acc_name, params in accs.items():
        others = {o: p for o, p in accs.items() if o != acc_name}
        if (reason := ACCELERATORS.get(acc_name)().conflicts(params, others)) is not None:
            raise UserError(f"{source}: variant.{name}: {reason}")


def sweep_name(group: str, axes: Sequence[SweepAxis], combo: Sequence[Any]) -> str:
    """The name a sweep gives one combination: ``fbcache-0.1``; ``t-threshold0.1-steps8`` for two axes."""
    if not axes:
        return group
    if len(axes) == 1:
        suffix = "-".join(f"{v:g}" if isinstance(v, float) else str(v) for v in combo)
    else:
        suffix = "-".join(f"{a.param}{v:g}" if isinstance(v, float) else f"{a.param}{v}"
                          for a, v in zip(axes, combo, strict=True))
    return f"{group}-{suffix}"


def given_params(source: str, where: str, acc_name: str, params: Any) -> dict[str, Any]:
    """An accelerator's table as a suite file gives it: ``true`` (its defaults) or a table of
    its own parameters, each checked to exist. The values are checked by :func:`make_variant`;
    whether a list is a sweep (:func:`is_sweep`) the caller decides.

    Args:
        source: the suite file, for errors.
        where: the dotted key the table sits under (``variant.fbc``, ``tune.fixed``).
        acc_name: the accelerator's registered name.
        params: the table's value as written.
    """
    if params is True:
        params = {}
    if not isinstance(params, Mapping):
        raise spec_error(source, f"{where}.{acc_name}", "expected a table of parameters or true")
    schema = ACCELERATORS.get(acc_name).params
    if unknown := [k for k in params if k not in schema]:
        raise spec_error(source, f"{where}.{acc_name}.{unknown[0]}",
                         f"unknown parameter (known: {', '.join(schema) or 'none'})")
    return dict(params)


def is_sweep(acc_name: str, key: str, value: Any) -> bool:
    """Whether ``value`` lists values to sweep (a parameter whose own type is a list never does)."""
    return isinstance(value, list) and ACCELERATORS.get(acc_name).params[key].type is not list


def make_variant(model: ModelSpec, name: str, accelerators: Mapping[str, Mapping[str, Any]], *,
                 source: str, generation: Mapping[str, Any] | None = None, group: str = "",
                 sweep: Sequence[SweepAxis] = (), endpoint: EndpointSpec | None = None,
                 own_model: Mapping[str, Any] | None = None) -> Variant:
    """One concrete variant: parameters validated with defaults filled in, combination
    checked, accelerators in application order, and its id.

    Args:
        model: the suite's ``[model]`` (the id hashes it with ``generation`` applied).
        name: the variant's name (a sweep's: :func:`sweep_name`).
        accelerators: accelerator name -> the parameters given (one value each).
        source: the suite file, for errors.
        generation: steps/guidance/height/width overrides, already checked (``check_override``).
        group: the ``[[variant]]`` table it belongs to ("" if none).
        sweep: the axes that table sweeps, in its order.
        endpoint: the endpoint, for a variant served over HTTP.
        own_model: the variant's own model (``MODEL_KEYS`` -> value), hashed into its id.
    """
    where = group or name
    chosen: dict[str, dict[str, Any]] = {}
    for acc_name, given in accelerators.items():
        schema = ACCELERATORS.get(acc_name).params
        params = given_params(source, f"variant.{where}", acc_name, given)
        for key, p in schema.items():
            try:
                params[key] = p.validate(key, params.get(key, p.default))
            except ValueError as exc:
                raise UserError(f"{source}: variant.{where}.{acc_name}.{key}: "
                                f"{str(exc).split(': ', 1)[1]}") from None
        chosen[acc_name] = params
    check_combination(source, name, chosen)
    uses = tuple(sorted((AcceleratorUse(a, tuple(sorted(p.items()))) for a, p in chosen.items()),
                        key=lambda u: (ACCELERATORS.get(u.name).order, u.name)))
    gen, mine = dict(generation or {}), dict(own_model or {})
    return Variant(name, uses, variant_id(apply_overrides(model, {**mine, **gen}), uses, endpoint=endpoint),
                   generation=tuple(sorted(gen.items())), group=group, sweep=tuple(sweep),
                   endpoint=endpoint, model=tuple(sorted(mine.items())))


@dataclass(frozen=True)
class VariantSettings:
    """What makes a variant, apart from the model it runs on: built by :meth:`build`."""

    name: str
    accelerators: tuple[tuple[str, Params], ...] = ()
    generation: Params = ()
    group: str = ""
    sweep: tuple[SweepAxis, ...] = ()
    own_model: Params = ()  # its own model and LoRA (Variant.model)

    def build(self, model: ModelSpec, source: str) -> Variant:
        """The variant on ``model``."""
        return make_variant(model, self.name, {a: dict(p) for a, p in self.accelerators},
                            source=source, generation=dict(self.generation), group=self.group,
                            sweep=self.sweep, own_model=dict(self.own_model))
