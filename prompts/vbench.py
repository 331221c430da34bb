"""VBench's prompt suites (Huang et al., CVPR 2024), from the pinned Vchitect/VBench commit.

* ``vbench``: the 946 prompts of VBench's 16 dimensions (``vbench/VBench_full_info.json``).
  A prompt serves one to three dimensions; its category is them joined with ``+`` (VBench's
  order) and ``meta["categories"]`` lists them, so ``prompts.categories = ["dynamic_degree"]``
  selects every prompt of that dimension. ``meta["auxiliary_info"]`` keeps VBench's per-prompt
  extras (object class, colour, style...) where present.
* ``vbench_category``: the 800 prompts in 8 content categories
  (``prompts/prompts_per_category/<category>.txt``, the order of ``all_category.txt``); two
  texts appear in two categories each and are kept (``dedupe = true`` drops them).

Both are video prompt sets. A download goes through ``datasets``' download manager at the
pinned commit (``prompts.hub.fetch``); ``paths`` takes a local copy: the file itself, or a
folder holding it (a VBench checkout, or the folder of the shared copies).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from prompts import hub
from prompts.base import Prompt, PromptError, make_prompt, register
from prompts.files import find_file, read_json, read_lines

REPO, REVISION = "Vchitect/VBench", "45e79ec14e69a2187202c675d2dbce1a71843d53"
INFO = "vbench/VBench_full_info.json"
PER_CATEGORY = "prompts/prompts_per_category"

#: The 16 dimensions, sorted.
DIMENSIONS: tuple[str, ...] = (
    "aesthetic_quality", "appearance_style", "background_consistency", "color", "dynamic_degree",
    "human_action", "imaging_quality", "motion_smoothness", "multiple_objects", "object_class",
    "overall_consistency", "scene", "spatial_relationship", "subject_consistency",
    "temporal_flickering", "temporal_style",
)
#: The 8 content categories, in the order of all_category.txt.
CONTENT: tuple[str, ...] = ("animal", "architecture", "food", "human", "lifestyle", "plant", "scenery",
                            "vehicles")
CATEGORY_SOURCE = hub.HubSource(repo=REPO, revision=REVISION, builder="text", host="github",
                                files=tuple((c, f"{PER_CATEGORY}/{c}.txt") for c in CONTENT))


def tagged_prompts(set_name: str, entries: list[tuple[str, list[str], dict[str, Any]]],
                   where: str) -> list[Prompt]:
    """Prompts tagged with several categories: category ``a+b``, ``meta["categories"]``."""
    if not entries:
        raise PromptError(f"{where}: the set is empty")
    out = []
    for i, (text, tags, extra) in enumerate(entries):
        if not text.strip() or not tags:
            raise PromptError(f"{where}: entry {i} has no prompt text or no dimension")
        out.append(make_prompt(set_name, i, text.strip(), "+".join(tags), categories=tuple(tags), **extra))
    return out


def vbench_prompts(info: Any, where: str) -> list[Prompt]:
    """Prompts from VBench_full_info.json: ``prompt_en``, ``dimension`` and ``auxiliary_info``."""
    if not isinstance(info, list):
        raise PromptError(f"{where}: expected a JSON list of prompts")
    entries = []
    for i, row in enumerate(info):
        if not isinstance(row, dict) or not isinstance(row.get("prompt_en"), str):
            raise PromptError(f"{where}: entry {i} has no prompt_en")
        extra = {"auxiliary_info": row["auxiliary_info"]} if row.get("auxiliary_info") else {}
        entries.append((row["prompt_en"], list(row.get("dimension") or ()), extra))
    return tagged_prompts("vbench", entries, where)


class TaggedJsonSet:
    """A set read from one upstream JSON file whose prompts carry several categories: VBench's
    video prompts (Apache-2.0), which take no options."""

    name: ClassVar[str]
    license: ClassVar[str] = "Apache-2.0"
    options: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    modality: ClassVar[str] = "video"
    info: ClassVar[str]  # the file's path in the upstream repository
    local_names: ClassVar[tuple[str, ...]]  # where to look for it in a folder given as ``paths``
    parse: ClassVar[Callable[[Any, str], list[Prompt]]]

    def load(self, path: Path | None = None) -> list[Prompt]:
        """Return the prompts in file order, from ``path`` (the file or a folder holding it,
        see ``local_names``) or the pinned commit."""
        if path is None:
            file = hub.fetch(hub.HubSource(repo=REPO, revision=REVISION, builder="json", host="github",
                                           files=(("info", self.info),)), self.info)
        else:
            file = find_file(path, self.local_names, self.name)
        return type(self).parse(read_json(file), str(file))


@register
class VBenchSet(TaggedJsonSet):
    """VBench's 946 dimension prompts, from a local VBench_full_info.json or the pinned commit."""

    name: ClassVar[str] = "vbench"
    description: ClassVar[str] = "946 video prompts for VBench's 16 dimensions (VBench, 2024)"
    source: ClassVar[str] = f"github {REPO}@{REVISION} {INFO}"
    categories: ClassVar[tuple[str, ...]] = DIMENSIONS
    info: ClassVar[str] = INFO
    local_names: ClassVar[tuple[str, ...]] = ("VBench_full_info.json", INFO)
    parse = staticmethod(vbench_prompts)


@register
class VBenchCategorySet:
    """VBench's 800 content-category prompts, from local per-category files or the pinned commit."""

    name: ClassVar[str] = "vbench_category"
    description: ClassVar[str] = "800 video prompts in 8 content categories (VBench, 2024)"
    source: ClassVar[str] = f"github {REPO}@{REVISION} {PER_CATEGORY}/<category>.txt"
    license: ClassVar[str] = "Apache-2.0"
    categories: ClassVar[tuple[str, ...]] = CONTENT
    options: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    modality: ClassVar[str] = "video"

    def load(self, path: Path | None = None) -> list[Prompt]:
        """Return the 800 prompts, category by category in file order.

        Args:
            path: A folder holding ``<category>.txt`` for the 8 categories, or holding
                ``prompts_per_category/`` (or ``prompts/prompts_per_category/``).
        """
        files = {}
        for category in CONTENT:
            if path is None:
                files[category] = hub.fetch(CATEGORY_SOURCE, f"{PER_CATEGORY}/{category}.txt")
            else:
                files[category] = find_file(path, (f"{category}.txt", f"prompts_per_category/{category}.txt",
                                                   f"{PER_CATEGORY}/{category}.txt"), "vbench_category")
        rows = [(text, cat) for cat in CONTENT for text in read_lines(files[cat])]
        if not rows:
            raise PromptError("vbench_category: the set is empty")
        return [make_prompt("vbench_category", i, text, cat) for i, (text, cat) in enumerate(rows)]
