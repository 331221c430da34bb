"""PartiPrompts (P2, Yu et al. 2022): 1632 prompts with a Category and a Challenge each.

Both labels are kept on every prompt (in ``meta``); which one becomes the reported category
is the ``category`` option, because "which kind of prompt breaks first" reads differently by
topic (Animals, Vehicles...) than by difficulty (Writing & Symbols, Quantity...).
Upstream: ``PartiPrompts.tsv`` in google-research/parti (Apache-2.0); the hub copy
``nateraw/parti-prompts`` holds the same file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from prompts.base import Prompt, PromptError, normalise_category, prompt_id, register
from prompts.files import Row, cell_text, find_file, position, prompt_text, read_rows, require_columns
from prompts.hub import HubSource, load_hub_rows

NAME = "parti"

#: The 12 values of the ``Category`` column, sorted.
CATEGORIES: tuple[str, ...] = (
    "Abstract", "Animals", "Artifacts", "Arts", "Food & Beverage", "Illustrations",
    "Indoor Scenes", "Outdoor Scenes", "People", "Produce & Plants", "Vehicles",
    "World Knowledge",
)

#: The 11 values of the ``Challenge`` column, sorted.
CHALLENGES: tuple[str, ...] = (
    "Basic", "Complex", "Fine-grained Detail", "Imagination", "Linguistic Structures",
    "Perspective", "Properties & Positioning", "Quantity", "Simple Detail", "Style & Format",
    "Writing & Symbols",
)

HUB = HubSource(
    repo="nateraw/parti-prompts",
    revision="944b156abfdad7627c3221b5ec4f6a6fb060a197",
    files=(("train", "PartiPrompts.tsv"),),
    builder="csv",
    delimiter="\t",
)

LOCAL_NAMES: tuple[str, ...] = ("PartiPrompts.tsv",)


def parti_prompts(
    rows: Sequence[Mapping[str, Any]], where: str, category: str = "category"
) -> list[Prompt]:
    """Turn upstream rows (``Prompt``, ``Category``, ``Challenge``, ``Note``) into prompts.

    Args:
        rows: Rows as read from the TSV, by the stdlib or by ``datasets``.
        where: File or source named in error messages.
        category: Which column becomes ``Prompt.category``: ``category`` or ``challenge``.

    Returns:
        One prompt per row, in row order; ``meta`` holds ``category``, ``challenge`` and,
        where upstream has one, ``note``.
    """
    if not rows:
        raise PromptError(f"{where}: the set is empty")
    require_columns(rows, ("Prompt", "Category", "Challenge"), where)
    prompts = []
    for i, row in enumerate(rows):
        labels = {
            "category": normalise_category(row["Category"]),
            "challenge": normalise_category(row["Challenge"]),
        }
        meta: dict[str, Any] = dict(labels)
        note = cell_text(row.get("Note")).strip()
        if note:
            meta["note"] = note
        text = prompt_text(row["Prompt"], where, position(row, i))
        # Built directly: make_prompt's own ``category`` argument would clash with meta's.
        prompts.append(Prompt(prompt_id(NAME, i, text), text, NAME, i, labels[category], meta))
    return prompts


@register
class PartiPromptsSet:
    """PartiPrompts, from a local TSV (file or folder) or the pinned hub copy.

    Args:
        category: ``category`` (default) reports by topic, ``challenge`` by difficulty.
    """

    name: ClassVar[str] = NAME
    description: ClassVar[str] = "1632 prompts, 12 categories x 11 challenges (Parti, 2022)"
    source: ClassVar[str] = f"google-research/parti PartiPrompts.tsv; hub {HUB.repo}@{HUB.revision}"
    license: ClassVar[str] = "Apache-2.0"
    categories: ClassVar[tuple[str, ...]] = CATEGORIES
    options: ClassVar[Mapping[str, tuple[str, ...]]] = {"category": ("category", "challenge")}
    modality: ClassVar[str] = "image"
    hub: ClassVar[HubSource] = HUB

    def __init__(self, category: str = "category") -> None:
        if category not in self.options["category"]:
            raise PromptError(f"parti: option category must be 'category' or 'challenge', "
                              f"not {category!r}")
        self.category = category

    def load(self, path: Path | None = None) -> list[Prompt]:
        """Return the 1632 prompts in file order.

        Args:
            path: Local ``PartiPrompts.tsv`` or a folder holding it; None loads from the hub.
        """
        if path is None:
            rows: list[Row] = load_hub_rows(self.hub, NAME)["train"]
            return parti_prompts(rows, self.hub.repo, self.category)
        file = find_file(path, LOCAL_NAMES, NAME)
        return parti_prompts(read_rows(file, "tsv"), str(file), self.category)
