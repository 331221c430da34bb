"""The bundled smoke set, written for this project: short prompts in a few categories."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from prompts.base import Prompt, make_prompt, register

# (category, prompt). Written for evalsuite; covers the kinds of content the big sets probe.
_SMOKE: tuple[tuple[str, str], ...] = (
    ("objects", "a red apple on a wooden table"),
    ("objects", "a blue bicycle leaning against a brick wall"),
    ("scenes", "a lighthouse on a rocky coast at sunset"),
    ("scenes", "a snowy mountain village at night with warm windows"),
    ("text", 'a shop sign that says "OPEN"'),
    ("counting", "three yellow ducks swimming in a pond"),
    ("style", "a watercolor painting of a fox in a forest"),
    ("style", "a pixel-art castle floating in the clouds"),
)


@register
class SmokeSet:
    """Eight prompts in five categories, bundled with evalsuite (MIT, like the project)."""

    name: ClassVar[str] = "smoke"
    description: ClassVar[str] = "8 short prompts in 5 categories, bundled for quick runs"
    source: ClassVar[str] = "written for evalsuite"
    license: ClassVar[str] = "MIT (same as evalsuite)"
    categories: ClassVar[tuple[str, ...]] = tuple(sorted({cat for cat, _ in _SMOKE}))
    options: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    modality: ClassVar[str] = "image"

    def load(self, path: Path | None = None) -> list[Prompt]:
        """Return the eight prompts; ``path`` is ignored (the set is bundled)."""
        return [make_prompt("smoke", i, text, cat) for i, (cat, text) in enumerate(_SMOKE)]
