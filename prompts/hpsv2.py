"""HPSv2 benchmark prompts (Wu et al. 2023): 4 styles x 800 prompts, the style as category.

Upstream keeps one JSON list per style (``benchmark/<style>.json`` in the hub dataset
``zhwang/HPDv2``); ``hpsv2.benchmark_prompts('all')`` and the copies in other repositories
merge them into one ``{style: [prompt, ...]}`` object. Both layouts load here.

A style repeats some prompts (anime has 781 distinct of 800). They are kept, because HPSv2
scores are published over all 800 per style; ``dedupe = true`` in the suite drops repeats.
The index of a prompt runs across styles in the order below (anime 0-799, concept-art
800-1599, ...), so an id never depends on whether duplicates were dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from prompts.base import Prompt, PromptError, make_prompt, register
from prompts.files import find_file, prompt_text, read_json
from prompts.hub import HubSource, load_hub_rows

NAME = "hpsv2"

#: The styles, in the order HPSv2 lists them (and the order of the prompt index).
STYLES: tuple[str, ...] = ("anime", "concept-art", "paintings", "photo")

HUB = HubSource(
    repo="zhwang/HPDv2",
    revision="b9517430f34b1080d4f741118d2a440155a165cd",
    # datasets wants identifiers as split names, hence concept_art.
    files=tuple((style.replace("-", "_"), f"benchmark/{style}.json") for style in STYLES),
    builder="json",
)

#: File names looked for in a folder; the merged file is tried before per-style files.
MERGED_NAMES: tuple[str, ...] = ("hpsv2_benchmark_prompts.json", "benchmark_prompts.json")


def hpsv2_prompts(by_style: Mapping[str, Sequence[Any]], where: str) -> list[Prompt]:
    """Turn ``{style: [prompt, ...]}`` into prompts, styles in :data:`STYLES` order.

    Args:
        by_style: Exactly the four styles, each a list of prompt strings.
        where: File or source named in error messages.

    Returns:
        All prompts; ``category`` is the style and ``meta["style_index"]`` the position
        within the style (the index HPSv2's own tooling uses).
    """
    unknown = sorted(set(by_style) - set(STYLES))
    if unknown:
        raise PromptError(f"{where}: unknown style {unknown[0]!r} (known: {', '.join(STYLES)})")
    prompts: list[Prompt] = []
    for style in STYLES:
        texts = by_style.get(style)
        if texts is None:
            raise PromptError(f"{where}: missing style {style!r}")
        if not isinstance(texts, list):
            raise PromptError(f"{where}: style {style!r} is not a list of prompts")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise PromptError(f"{where}: {style} item {i + 1} is not a string")
            text = prompt_text(text, where, f"{style} item {i + 1}")
            prompts.append(make_prompt(NAME, len(prompts), text, style, style_index=i))
    if not prompts:
        raise PromptError(f"{where}: the set is empty")
    return prompts


def read_local(path: Path) -> tuple[dict[str, Any], str]:
    """Read the merged JSON file, or a folder with it or with ``[benchmark/]<style>.json``."""
    if path.is_dir():
        for folder in (path, path / "benchmark"):
            if all((folder / f"{style}.json").is_file() for style in STYLES):
                return {style: read_json(folder / f"{style}.json") for style in STYLES}, str(folder)
    file = find_file(path, MERGED_NAMES, NAME)
    data = read_json(file)
    if not isinstance(data, dict):
        raise PromptError(f"{file}: expected a JSON object {{style: [prompt, ...]}}")
    return data, str(file)


@register
class HPSv2Set:
    """HPSv2 benchmark prompts, from a local copy or the pinned hub dataset."""

    name: ClassVar[str] = NAME
    description: ClassVar[str] = "3200 prompts, 800 per style: anime, concept-art, paintings, photo"
    source: ClassVar[str] = f"hub {HUB.repo}@{HUB.revision} benchmark/<style>.json"
    license: ClassVar[str] = "Apache-2.0 (HPSv2 code); prompts from DiffusionDB and MS-COCO"
    categories: ClassVar[tuple[str, ...]] = STYLES
    options: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    modality: ClassVar[str] = "image"
    hub: ClassVar[HubSource] = HUB

    def load(self, path: Path | None = None) -> list[Prompt]:
        """Return the 3200 prompts, duplicates included, styles in :data:`STYLES` order.

        Args:
            path: The merged ``hpsv2_benchmark_prompts.json``, or a folder with it or with
                the per-style files; None loads from the hub.
        """
        if path is None:
            splits = load_hub_rows(self.hub, NAME)
            # datasets reads a JSON list of strings as rows with a single "text" column.
            by_style = {
                style: [row["text"] for row in splits[style.replace("-", "_")]]
                for style in STYLES
            }
            return hpsv2_prompts(by_style, self.hub.repo)
        data, where = read_local(path)
        return hpsv2_prompts(data, where)
