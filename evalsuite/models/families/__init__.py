"""Model families: one adapter per family, registered here, found from ``model_index.json``.

``[model] family = "..."`` names one; otherwise the model's pipeline class (its
``model_index.json`` ``_class_name``, read from a local folder, a tiny built-in or, for a hub
id, that one file through ``huggingface_hub``) picks it, and a pipeline no adapter serves gets
:class:`~evalsuite.models.families.generic.Generic` (the baseline and model-independent
techniques only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from evalsuite.models.families import (  # noqa: F401  (importing registers them)
    chroma,
    flux,
    flux2,
    generic,
    hidream,
    hunyuan_video15,
    ltx2,
    qwen_image,
    sana,
    sd35,
    wan,
    z_image,
)
from evalsuite.models.families.base import FAMILIES, Defaults, Family

if TYPE_CHECKING:
    from evalsuite.suite.types import ModelSpec

__all__ = ["FAMILIES", "Defaults", "Family", "family_for_class", "family_for_index", "family_of", "get",
           "index_of", "names", "support"]


def names() -> list[str]:
    """Every family name, the generic one last."""
    return sorted(FAMILIES.names(), key=lambda n: (n == "generic", n))


def get(name: str) -> Family:
    """The adapter called ``name``; ValueError (one line) for an unknown name."""
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r} (known: {', '.join(names())})")
    return FAMILIES.get(name)()


def family_for_class(pipeline_class: str) -> Family:
    """The adapter serving ``pipeline_class`` (with no more of its index known), or the generic one."""
    return family_for_index({"_class_name": pipeline_class})


def family_for_index(index: Mapping[str, Any]) -> Family:
    """The adapter serving the pipeline ``index`` (its ``model_index.json``) describes, or the
    generic one."""
    for name in FAMILIES.names():
        if FAMILIES.get(name)().serves(index):
            return FAMILIES.get(name)()
    return FAMILIES.get("generic")()


def index_of(pipe: Any) -> dict[str, Any]:
    """A loaded pipeline's ``model_index.json`` as diffusers keeps it (``pipe.config``)."""
    return {**{k: v for k, v in dict(getattr(pipe, "config", {})).items()},
            "_class_name": type(pipe).__name__}


def family_of(model: ModelSpec, pipe: Any = None) -> Family:
    """``model``'s family: as the suite resolved it, else from the loaded ``pipe``'s class, else
    from its ``model_index.json``."""
    if model.family is not None:
        return get(model.family)
    if pipe is not None:
        return family_for_index(index_of(pipe))
    from evalsuite.models.families.detect import model_index

    return family_for_index(model_index(model.id, model.revision))


def support(accelerator_name: str, family_name: str, params: Mapping[str, Any] | None = None) -> str | None:
    """None if the technique fits the family (with ``params``, defaults filled in), else why not.

    The one question behind the support matrix: the worker, the suite check and
    ``evalsuite list`` all ask it here.
    """
    from evalsuite.accelerators import ACCELERATORS

    name = ACCELERATORS.resolve(accelerator_name)
    cls, family = ACCELERATORS.get(name), get(family_name)
    if name in family.refused:
        return family.refused[name]
    full = {key: p.default for key, p in cls.params.items()} | dict(params or {})
    return cls().supports(family, full)
