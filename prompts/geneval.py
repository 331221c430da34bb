"""GenEval (Ghosh et al. 2023): 553 prompts, ``tag`` as category, with their object metadata.

Each row of ``prompts/evaluation_metadata.jsonl`` says which objects a correct image holds:
``include`` (class, count, and sometimes color or position) and, for counting prompts,
``exclude``. Detector-based scoring needs exactly these objects, so they travel with every
prompt in ``meta``: ``{"tag": p.category, "prompt": p.text, **p.meta}`` rebuilds the
upstream row. GenEval lives on GitHub only (MIT), so the source is pinned there by commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from prompts.base import Prompt, PromptError, make_prompt, normalise_category, register
from prompts.files import find_file, position, prompt_text, read_rows, require_columns
from prompts.hub import HubSource, load_hub_rows

NAME = "geneval"

#: The 6 tags, sorted.
CATEGORIES: tuple[str, ...] = (
    "color_attr", "colors", "counting", "position", "single_object", "two_object",
)

HUB = HubSource(
    repo="djghosh13/geneval",
    revision="af4902f24d3ca90ebbb446dd9891a59e0f82725f",
    files=(("train", "prompts/evaluation_metadata.jsonl"),),
    builder="json",
    host="github",
)

LOCAL_NAMES: tuple[str, ...] = ("evaluation_metadata.jsonl", "prompts/evaluation_metadata.jsonl")


def _objects(value: Any, where: str, at: str, key: str) -> list[dict[str, Any]]:
    """A list of object specs, with keys that ``datasets`` filled in as None removed.

    ``datasets`` may turn a list of objects into Arrow structs, which give every object
    every key; dropping the None values gives back the upstream objects exactly.
    """
    if not isinstance(value, list) or not all(isinstance(o, Mapping) for o in value):
        raise PromptError(f"{where}: {at} has no list of objects in {key!r}")
    return [{k: v for k, v in o.items() if v is not None} for o in value]


def geneval_prompts(rows: Sequence[Mapping[str, Any]], where: str) -> list[Prompt]:
    """Turn upstream rows (``tag``, ``prompt``, ``include``, ``exclude``) into prompts.

    Args:
        rows: Rows as read from the JSONL, by the stdlib or by ``datasets``.
        where: File or source named in error messages.

    Returns:
        One prompt per row, in row order; ``meta`` holds ``include`` (every row) and
        ``exclude`` (only rows that have one upstream).
    """
    if not rows:
        raise PromptError(f"{where}: the set is empty")
    require_columns(rows, ("prompt", "tag", "include"), where)
    prompts = []
    for i, row in enumerate(rows):
        at = position(row, i)
        meta: dict[str, Any] = {"include": _objects(row.get("include"), where, at, "include")}
        if row.get("exclude") is not None:
            meta["exclude"] = _objects(row["exclude"], where, at, "exclude")
        text = prompt_text(row.get("prompt"), where, at)
        prompts.append(make_prompt(NAME, i, text, normalise_category(row.get("tag")), **meta))
    return prompts


@register
class GenEvalSet:
    """GenEval's prompts with object metadata, from a local JSONL or the pinned GitHub file."""

    name: ClassVar[str] = NAME
    description: ClassVar[str] = "553 prompts in 6 tags, with objects to detect (GenEval, 2023)"
    source: ClassVar[str] = f"github {HUB.repo}@{HUB.revision} {HUB.files[0][1]}"
    license: ClassVar[str] = "MIT"
    categories: ClassVar[tuple[str, ...]] = CATEGORIES
    options: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    modality: ClassVar[str] = "image"
    hub: ClassVar[HubSource] = HUB

    def load(self, path: Path | None = None) -> list[Prompt]:
        """Return the 553 prompts in file order.

        Args:
            path: Local ``evaluation_metadata.jsonl`` or a folder holding it (a checkout
                of the repository works); None downloads the pinned file.
        """
        if path is None:
            return geneval_prompts(load_hub_rows(self.hub, NAME)["train"], self.hub.repo)
        file = find_file(path, LOCAL_NAMES, NAME)
        return geneval_prompts(read_rows(file, "jsonl"), str(file))
