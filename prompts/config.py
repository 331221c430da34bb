"""The ``[prompts]`` table of a suite: parsed strictly, then resolved into prompts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prompts.base import PROMPT_SETS, Prompt, PromptError

_KEYS = {"sets", "limit", "seeds", "paths"}


@dataclass(frozen=True)
class PromptSelection:
    """Which prompts a suite runs, and with which seeds."""

    sets: tuple[str, ...] = ("smoke",)
    limit: int | None = None
    seeds: tuple[int, ...] = (0,)
    paths: tuple[tuple[str, str], ...] = ()  # (set name, local file or folder)

    def to_dict(self) -> dict[str, Any]:
        """Canonical JSON-able form (for the resolved suite copy and hashing)."""
        return {
            "sets": list(self.sets), "limit": self.limit, "seeds": list(self.seeds),
            "paths": dict(self.paths),
        }


def parse_prompts_table(table: Mapping[str, Any], base_dir: Path) -> PromptSelection:
    """Validate a ``[prompts]`` table; raise :class:`PromptError` naming the bad key."""
    unknown = set(table) - _KEYS
    if unknown:
        raise PromptError(f"prompts: unknown key {sorted(unknown)[0]!r}")
    sets = table.get("sets", ["smoke"])
    if isinstance(sets, str):
        sets = [sets]
    if not isinstance(sets, list) or not sets or not all(isinstance(s, str) for s in sets):
        raise PromptError("prompts.sets: expected a non-empty list of set names")
    for name in sets:
        if name not in PROMPT_SETS:
            raise PromptError(f"prompts.sets: unknown prompt set {name!r} "
                              f"(known: {', '.join(PROMPT_SETS.names())})")
    limit = table.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise PromptError("prompts.limit: expected a positive integer")
    seeds = table.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds
    ):
        raise PromptError("prompts.seeds: expected a non-empty list of non-negative integers")
    if len(set(seeds)) != len(seeds):
        raise PromptError("prompts.seeds: duplicate seed")
    paths = table.get("paths", {})
    if not isinstance(paths, dict):
        raise PromptError("prompts.paths: expected a table of set name = path")
    resolved: list[tuple[str, str]] = []
    for name, value in paths.items():
        if name not in sets:
            raise PromptError(f"prompts.paths.{name}: not one of prompts.sets")
        if not isinstance(value, str):
            raise PromptError(f"prompts.paths.{name}: expected a path string")
        path = (base_dir / value).resolve()
        if not path.exists():
            raise PromptError(f"prompts.paths.{name}: no such file or folder: {path}")
        resolved.append((name, str(path)))
    return PromptSelection(tuple(sets), limit, tuple(seeds), tuple(sorted(resolved)))


def resolve_prompts(selection: PromptSelection) -> list[Prompt]:
    """Load the selected sets and apply ``limit``; an empty result is an error."""
    paths = dict(selection.paths)
    prompts: list[Prompt] = []
    for name in selection.sets:
        path = paths.get(name)
        prompts.extend(PROMPT_SETS.get(name)().load(Path(path) if path else None))
    if not prompts:
        raise PromptError("prompts: the selected sets are empty")
    if selection.limit is not None:
        if selection.limit > len(prompts):
            raise PromptError(
                f"prompts.limit: {selection.limit} is more than the {len(prompts)} prompts selected"
            )
        prompts = prompts[: selection.limit]
    return prompts
