"""Per-variant generation settings: ``steps``, ``guidance``, ``height`` and ``width``.

A ``[[variant]]`` table may set any of these beside its accelerators, and may sweep them
like accelerator parameters (``steps = [8, 10, 14]`` gives ``steps-8``, ``steps-10`` and
``steps-14``). They change the images, so they are part of the variant's identity: the id
hashes the variant's *effective* model settings (``[model]`` with the overrides applied).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalsuite.suite.types import ModelSpec, Variant

GENERATION_KEYS = ("steps", "guidance", "height", "width")


def check_override(key: str, value: Any) -> Any:
    """Validate one override value; raise ``ValueError`` with a one-line reason."""
    if key == "guidance":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"expected a number >= 0, got {value!r}")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    if key == "steps" and value < 1:
        raise ValueError(f"must be at least 1, got {value}")
    if key in ("height", "width") and (value < 16 or value % 16):
        raise ValueError(f"{value} is not a multiple of 16 (at least 16)")
    return value


def apply_overrides(model: ModelSpec, overrides: Mapping[str, Any]) -> ModelSpec:
    """``model`` with the generation settings in ``overrides`` replaced."""
    return dataclasses.replace(model, **dict(overrides)) if overrides else model


def effective_model(model: ModelSpec, variant: Variant) -> ModelSpec:
    """The settings a variant generates with: the suite's ``[model]`` plus its own overrides
    (its own model, LoRA, steps, guidance and size).

    The one place the worker (and anything that needs a variant's step count or size) reads them.
    """
    return apply_overrides(model, {**dict(variant.model), **dict(variant.generation)})


def same_model(a: ModelSpec, b: ModelSpec) -> bool:
    """Whether ``a`` and ``b`` are the same weights (id, revision and LoRA), whatever the settings.

    Paired metrics compare an image with the baseline's only when they are.
    """
    return (a.id, a.revision, a.lora) == (b.id, b.revision, b.lora)
