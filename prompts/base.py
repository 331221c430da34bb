"""Prompts, prompt sets and their registry.

A prompt id is stable across runs and machines: set name + index + a short hash of the
text, so a stored sample always refers to the same prompt even if a file is re-ordered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from registry import Registry


class PromptError(ValueError):
    """Bad prompt input (missing file, empty set, unknown column...): a one-line message."""


@dataclass(frozen=True)
class Prompt:
    """One prompt with the set it came from and its category."""

    id: str
    text: str
    set: str
    index: int
    category: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


def prompt_id(set_name: str, index: int, text: str) -> str:
    """Stable id: ``<set>-<index>-<first 8 hex of sha1(text)>``."""
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{set_name}-{index:05d}-{digest}"


def make_prompt(set_name: str, index: int, text: str, category: str = "", **meta: Any) -> Prompt:
    """Build a :class:`Prompt` with its stable id."""
    return Prompt(prompt_id(set_name, index, text), text, set_name, index, category, meta)


def normalise_category(raw: object) -> str:
    """Category as shown in reports: whitespace collapsed, ends stripped.

    Upstream sheets carry stray spaces (DrawBench's ``"Gary Marcus et al. "``); without this
    one category would split in two as soon as a second copy of the sheet is used.
    """
    return " ".join(str(raw).split()) if raw is not None else ""


class PromptSet(Protocol):
    """A named prompt set; ``load`` reads it from ``path`` or its default source.

    A set class is instantiated with the keyword options named in ``options`` (for
    example ``PartiPromptsSet(category="challenge")``); sets without options take none.
    ``categories`` lists the set's categories in their default grouping, for listings.
    ``modality`` says what the prompts describe: ``"image"`` or ``"video"`` (clips, e.g.
    VBench's); a set that does not declare it is an image set (:func:`set_modality`).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    source: ClassVar[str]
    license: ClassVar[str]
    categories: ClassVar[tuple[str, ...]]
    options: ClassVar[Mapping[str, tuple[str, ...]]]
    modality: ClassVar[str]

    def load(self, path: Path | None = None) -> list[Prompt]:
        """Return every prompt of the set, in upstream order."""
        ...


#: What a prompt set's prompts describe (metrics.base.Modality holds the same two words).
MODALITIES: tuple[str, ...] = ("image", "video")


def set_modality(set_class: type) -> str:
    """A prompt set's modality: its ``modality`` attribute, ``"image"`` when absent (sets
    from plug-ins written before video existed)."""
    modality = getattr(set_class, "modality", "image")
    if modality not in MODALITIES:
        raise PromptError(f"prompt set {getattr(set_class, 'name', set_class)!r}: modality "
                          f"{modality!r} is not one of {', '.join(MODALITIES)}")
    return modality


PROMPT_SETS: Registry[type[PromptSet]] = Registry("prompt set", group="evalsuite.prompt_sets")
register = PROMPT_SETS.register
