"""DrawBench (Imagen, Saharia et al. 2022): 200 prompts in 11 categories.

Upstream is a Google Sheet linked from the Imagen page, with no git history and no stated
license, so the hub copy ``sayakpaul/drawbench`` is pinned by commit instead. Copies of the
sheet disagree on small things this loader evens out: the prompt column is ``Prompt`` in the
sheet export and ``Prompts`` in the hub copy, and one category is ``"Gary Marcus et al. "``
with a trailing space in some copies only. See ``prompts/SOURCES.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from prompts.base import Prompt, PromptError, make_prompt, normalise_category, register
from prompts.files import find_file, position, prompt_text, read_rows, require_columns
from prompts.hub import HubSource, load_hub_rows

NAME = "drawbench"

#: The 11 categories, after whitespace normalisation, sorted.
CATEGORIES: tuple[str, ...] = (
    "Colors", "Conflicting", "Counting", "DALL-E", "Descriptions", "Gary Marcus et al.",
    "Misspellings", "Positional", "Rare Words", "Reddit", "Text",
)

HUB = HubSource(
    repo="sayakpaul/drawbench",
    revision="ad794cba698c253ffdb6d18eff3fc87b004c1135",
    files=(("train", "DrawBench Prompts - Sheet1.csv"),),
    builder="csv",
)

# File names to look for when prompts.paths.drawbench names a folder: the sheet export as
# saved by most repositories, the hub copy's name, and DrawBench-Glance's name.
LOCAL_NAMES: tuple[str, ...] = ("drawbench.csv", "DrawBench Prompts - Sheet1.csv", "imagen.csv")


def drawbench_prompts(rows: Sequence[Mapping[str, Any]], where: str) -> list[Prompt]:
    """Turn upstream rows (``Prompt``/``Prompts``, ``Category``) into prompts, in row order.

    Args:
        rows: Rows as read from the CSV, by the stdlib or by ``datasets``.
        where: File or source named in error messages.

    Returns:
        One prompt per row; the index is the row number, the category normalised.
    """
    if not rows:
        raise PromptError(f"{where}: the set is empty")
    column = "Prompts" if "Prompts" in rows[0] else "Prompt"
    require_columns(rows, (column, "Category"), where)
    return [
        make_prompt(NAME, i, prompt_text(row[column], where, position(row, i)),
                    normalise_category(row["Category"]))
        for i, row in enumerate(rows)
    ]


@register
class DrawBenchSet:
    """DrawBench, from a local CSV (file or folder) or the pinned hub copy."""

    name: ClassVar[str] = NAME
    description: ClassVar[str] = "200 prompts in 11 categories (Imagen's DrawBench, 2022)"
    source: ClassVar[str] = f"{HUB.repo}@{HUB.revision} (copy of the Imagen Google Sheet)"
    license: ClassVar[str] = "unknown: neither the sheet nor its copies state a license"
    categories: ClassVar[tuple[str, ...]] = CATEGORIES
    options: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    modality: ClassVar[str] = "image"
    hub: ClassVar[HubSource] = HUB

    def load(self, path: Path | None = None) -> list[Prompt]:
        """Return the 200 prompts in sheet order.

        Args:
            path: Local ``drawbench.csv`` or a folder holding it; None loads from the hub.
        """
        if path is None:
            return drawbench_prompts(load_hub_rows(self.hub, NAME)["train"], self.hub.repo)
        file = find_file(path, LOCAL_NAMES, NAME)
        return drawbench_prompts(read_rows(file, "csv"), str(file))
