"""The bundled video smoke set, written for this project: four short prompts for clips.

Each prompt names motion (or its absence) that the temporal metrics read: a static scene
(temporal flickering), a moving subject (subject consistency, dynamic degree) and a camera
move (background consistency, motion smoothness).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from prompts.base import Prompt, make_prompt, register

NAME = "video_smoke"

# (category, prompt). Written for evalsuite; the categories are VBench's content categories.
_VIDEO_SMOKE: tuple[tuple[str, str], ...] = (
    ("animal", "a golden retriever running across a green lawn"),
    ("scenery", "a still mountain lake at dawn, static camera"),
    ("vehicles", "a red car driving along a coastal road, camera tracking"),
    ("human", "a person walking through falling snow in a city street"),
)


@register
class VideoSmokeSet:
    """Four clip prompts in four categories, bundled with evalsuite (MIT, like the project)."""

    name: ClassVar[str] = NAME
    description: ClassVar[str] = "4 short video prompts in 4 categories, bundled for quick runs"
    source: ClassVar[str] = "written for evalsuite"
    license: ClassVar[str] = "MIT (same as evalsuite)"
    categories: ClassVar[tuple[str, ...]] = tuple(sorted({cat for cat, _ in _VIDEO_SMOKE}))
    options: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    modality: ClassVar[str] = "video"

    def load(self, path: Path | None = None) -> list[Prompt]:
        """Return the four prompts; ``path`` is ignored (the set is bundled)."""
        return [make_prompt(NAME, i, text, cat) for i, (cat, text) in enumerate(_VIDEO_SMOKE)]
