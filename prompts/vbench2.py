"""VBench-2.0's prompts (Zheng et al., 2025), from the pinned Vchitect/VBench commit.

``VBench-2.0/prompts/VBench2_full_text_info.json`` maps each prompt to its dimensions (18,
from Human_Anatomy to Thermotics); a prompt serves one or more, so its category is them
joined with ``+`` and ``meta["categories"]`` lists them (``prompts.categories`` selects by
any one). The prompt text is the entry's ``caption``, as in ``VBench2_full_text.txt``: the
file's keys cut the long Complex_Plot stories short (the key, where it differs, is kept in
``meta["key"]``). A video prompt set.
"""

from __future__ import annotations

from typing import Any, ClassVar

from prompts.base import Prompt, PromptError, register
from prompts.vbench import REPO, REVISION, TaggedJsonSet, tagged_prompts

INFO = "VBench-2.0/prompts/VBench2_full_text_info.json"
DIMENSIONS: tuple[str, ...] = (
    "Camera_Motion", "Complex_Landscape", "Complex_Plot", "Composition", "Diversity",
    "Dynamic_Attribute", "Dynamic_Spatial_Relationship", "Human_Anatomy", "Human_Clothes",
    "Human_Identity", "Human_Interaction", "Instance_Preservation", "Material", "Mechanics",
    "Motion_Order_Understanding", "Motion_Rationality", "Multi-View_Consistency", "Thermotics",
)


def vbench2_prompts(info: Any, where: str) -> list[Prompt]:
    """Prompts from VBench2_full_text_info.json (``{prompt: {caption, dimension}}``)."""
    if not isinstance(info, dict):
        raise PromptError(f"{where}: expected a JSON object of prompts")
    entries = []
    for text, entry in info.items():
        if not isinstance(entry, dict):
            raise PromptError(f"{where}: the entry of {text[:40]!r} is not an object")
        caption = entry.get("caption")
        caption = caption if isinstance(caption, str) and caption.strip() else text
        extra = {"key": text} if caption != text else {}
        entries.append((caption, list(entry.get("dimension") or ()), extra))
    return tagged_prompts("vbench2", entries, where)


@register
class VBench2Set(TaggedJsonSet):
    """VBench-2.0's prompts, from a local VBench2_full_text_info.json or the pinned commit."""

    name: ClassVar[str] = "vbench2"
    description: ClassVar[str] = "1013 video prompts for VBench-2.0's 18 dimensions (VBench-2.0, 2025)"
    source: ClassVar[str] = f"github {REPO}@{REVISION} {INFO}"
    categories: ClassVar[tuple[str, ...]] = DIMENSIONS
    info: ClassVar[str] = INFO
    # The file, or a folder holding it: the shared copies' vbench2/, a checkout's VBench-2.0/prompts/.
    local_names: ClassVar[tuple[str, ...]] = ("VBench2_full_text_info.json",
                                              "vbench2/VBench2_full_text_info.json", INFO)
    parse = staticmethod(vbench2_prompts)
