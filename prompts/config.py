"""The ``[prompts]`` table of a suite: parsed strictly, then resolved into prompts.

Parsing checks types, names and paths without reading any data, so a bad suite fails in
milliseconds; resolving loads the sets and applies dedupe, the category filter and the
stratified ``limit``, in that order. See ``prompts/SOURCES.md`` for the table's keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prompts.base import PROMPT_SETS, Prompt, PromptError, normalise_category
from prompts.custom import CustomFile, parse_custom_file
from prompts.sampling import dedupe, filter_categories, stratified_sample

_KEYS = {"sets", "limit", "limits", "seeds", "sampling_seed", "categories", "dedupe", "paths", "options",
         "file"}

Options = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


@dataclass(frozen=True)
class PromptSelection:
    """Which prompts a suite runs, and with which seeds.

    Attributes:
        sets: Registered set names, in the order their prompts are listed.
        limit: Size of the stratified sample, or None for every prompt.
        seeds: Generation seeds; every prompt is generated once per seed.
        paths: ``(set name, absolute local file or folder)``; other sets load from the hub.
        sampling_seed: Seed of the stratified sample (not of generation).
        categories: Only prompts in these categories, if any are given.
        dedupe: Drop repeated texts within a set and category (HPSv2 has some).
        options: ``(set name, ((option, value), ...))``, e.g. Parti's category column.
        files: Custom prompt files, each a set of its own.
        set_limits: ``(set name, n)``: a stratified sample of ``n`` prompts of that set,
            drawn before the overall ``limit`` (e.g. all of DrawBench, 300 of Parti).
    """

    sets: tuple[str, ...] = ("smoke",)
    limit: int | None = None
    seeds: tuple[int, ...] = (0,)
    paths: tuple[tuple[str, str], ...] = ()
    sampling_seed: int = 0
    categories: tuple[str, ...] = ()
    dedupe: bool = False
    options: Options = ()
    files: tuple[CustomFile, ...] = ()
    set_limits: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Canonical JSON-able form (for the resolved suite copy and hashing).

        Its keys are the table's keys, so it parses back to an equal selection.
        """
        # "limits" only when set: suites without it keep their canonical form (and hashes).
        return {
            **({"limits": dict(self.set_limits)} if self.set_limits else {}),
            "sets": list(self.sets), "limit": self.limit, "seeds": list(self.seeds),
            "paths": dict(self.paths), "sampling_seed": self.sampling_seed,
            "categories": list(self.categories), "dedupe": self.dedupe,
            "options": {name: dict(opts) for name, opts in self.options},
            "file": [f.to_dict() for f in self.files],
        }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_sets(table: Mapping[str, Any], files: tuple[CustomFile, ...]) -> tuple[str, ...]:
    # The smoke set is the default only for a suite that names no prompts at all.
    sets = table.get("sets", [] if files else ["smoke"])
    if isinstance(sets, str):
        sets = [sets]
    if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
        raise PromptError("prompts.sets: expected a list of set names")
    if not sets and not files:
        raise PromptError("prompts.sets: expected a non-empty list of set names")
    for name in sets:
        if name not in PROMPT_SETS:
            raise PromptError(f"prompts.sets: unknown prompt set {name!r} "
                              f"(known: {', '.join(PROMPT_SETS.names())})")
    if len(set(sets)) != len(sets):
        raise PromptError("prompts.sets: a set is listed twice")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise PromptError("prompts.file: two files have the same name")
    return tuple(sets)


def _parse_categories(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
        raise PromptError("prompts.categories: expected a list of category names")
    categories = tuple(normalise_category(c) for c in value)
    if len(set(categories)) != len(categories):
        raise PromptError("prompts.categories: a category is listed twice")
    return categories


def _parse_paths(value: Any, sets: tuple[str, ...], base_dir: Path) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise PromptError("prompts.paths: expected a table of set name = path")
    resolved: list[tuple[str, str]] = []
    for name, raw in value.items():
        if name not in sets:
            raise PromptError(f"prompts.paths.{name}: not one of prompts.sets")
        if not isinstance(raw, str):
            raise PromptError(f"prompts.paths.{name}: expected a path string")
        path = (base_dir / raw).resolve()
        if not path.exists():
            raise PromptError(f"prompts.paths.{name}: no such file or folder: {path}")
        resolved.append((name, str(path)))
    return tuple(sorted(resolved))


def _parse_options(value: Any, sets: tuple[str, ...]) -> Options:
    if not isinstance(value, Mapping):
        raise PromptError("prompts.options: expected a table of set name = {option = value}")
    parsed = []
    for name, opts in value.items():
        if name not in sets:
            raise PromptError(f"prompts.options.{name}: not one of prompts.sets")
        allowed: Mapping[str, tuple[str, ...]] = getattr(PROMPT_SETS.get(name), "options", {})
        if not isinstance(opts, Mapping):
            raise PromptError(f"prompts.options.{name}: expected a table of option = value")
        for key, choice in opts.items():
            if key not in allowed:
                known = ", ".join(allowed) or "none"
                raise PromptError(f"prompts.options.{name}: unknown option {key!r} "
                                  f"(known: {known})")
            if choice not in allowed[key]:
                raise PromptError(f"prompts.options.{name}.{key}: expected one of "
                                  f"{', '.join(map(repr, allowed[key]))}, not {choice!r}")
        parsed.append((name, tuple(sorted(opts.items()))))
    return tuple(sorted(parsed))


def parse_prompts_table(table: Mapping[str, Any], base_dir: Path) -> PromptSelection:
    """Validate a ``[prompts]`` table without loading any prompts.

    Args:
        table: The parsed TOML table.
        base_dir: Folder that relative paths are relative to (the suite file's).

    Returns:
        The frozen selection, with paths made absolute.

    Raises:
        PromptError: An unknown key, a wrong type or value, or a missing file; the
            one-line message names the key.
    """
    if not isinstance(table, Mapping):
        raise PromptError("prompts: expected a table")
    unknown = set(table) - _KEYS
    if unknown:
        raise PromptError(f"prompts: unknown key {sorted(unknown)[0]!r}")
    entries = table.get("file", [])
    if not isinstance(entries, list):
        raise PromptError("prompts.file: expected a list of [[prompts.file]] tables")
    files = tuple(parse_custom_file(entry, i, base_dir) for i, entry in enumerate(entries))
    sets = _parse_sets(table, files)
    limit = table.get("limit")
    if limit is not None and (not _is_int(limit) or limit < 1):
        raise PromptError("prompts.limit: expected a positive integer")
    set_limits = _parse_set_limits(table.get("limits", {}), sets)
    seeds = table.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(_is_int(s) and s >= 0 for s in seeds):
        raise PromptError("prompts.seeds: expected a non-empty list of non-negative integers")
    if len(set(seeds)) != len(seeds):
        raise PromptError("prompts.seeds: duplicate seed")
    sampling_seed = table.get("sampling_seed", 0)
    if not _is_int(sampling_seed) or sampling_seed < 0:
        raise PromptError("prompts.sampling_seed: expected a non-negative integer")
    dedupe_flag = table.get("dedupe", False)
    if not isinstance(dedupe_flag, bool):
        raise PromptError("prompts.dedupe: expected true or false")
    return PromptSelection(
        sets=sets, limit=limit, seeds=tuple(seeds),
        paths=_parse_paths(table.get("paths", {}), sets, base_dir),
        sampling_seed=sampling_seed,
        categories=_parse_categories(table.get("categories", [])),
        dedupe=dedupe_flag,
        options=_parse_options(table.get("options", {}), sets),
        files=files,
        set_limits=set_limits,
    )


def _parse_set_limits(value: Any, sets: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, Mapping):
        raise PromptError("prompts.limits: expected a table of set name = number of prompts")
    for name, n in value.items():
        if name not in sets:
            raise PromptError(f"prompts.limits.{name}: not a set listed in prompts.sets")
        if not _is_int(n) or n < 1:
            raise PromptError(f"prompts.limits.{name}: expected a positive integer")
    return tuple(sorted(value.items()))


def load_set(name: str, path: Path | None = None, **options: str) -> list[Prompt]:
    """Every prompt of the registered set ``name``, from ``path`` or its hub source.

    Raises:
        PromptError: The set is unknown, cannot be read, or is empty.
    """
    if name not in PROMPT_SETS:
        raise PromptError(f"unknown prompt set {name!r} (known: {', '.join(PROMPT_SETS.names())})")
    prompts = PROMPT_SETS.get(name)(**options).load(path)
    if not prompts:
        raise PromptError(f"prompts.sets: set {name!r} is empty")
    return prompts


def resolve_prompts(selection: PromptSelection) -> list[Prompt]:
    """Load the selected sets and files, then apply dedupe, categories and ``limit``.

    Returns:
        The prompts in selection order: sets as listed, then files, each in upstream
        order (a ``limit`` sample keeps that order).

    Raises:
        PromptError: A set cannot be loaded or is empty, a category matches nothing, or
            ``limit`` is larger than what is left.
    """
    paths = dict(selection.paths)
    options = {name: dict(opts) for name, opts in selection.options}
    prompts: list[Prompt] = []
    for name in selection.sets:
        path = paths.get(name)
        prompts.extend(load_set(name, Path(path) if path else None, **options.get(name, {})))
    for custom in selection.files:
        prompts.extend(custom.load())
    if selection.dedupe:
        prompts = dedupe(prompts)
    if selection.categories:
        prompts = filter_categories(prompts, selection.categories)
    if not prompts:
        raise PromptError("prompts: the selected sets are empty")
    for name, n in selection.set_limits:
        of_set = [p for p in prompts if p.set == name]
        if n > len(of_set):
            raise PromptError(f"prompts.limits.{name}: {n} is more than the {len(of_set)} prompts selected")
        drawn = {p.id for p in stratified_sample(of_set, n, selection.sampling_seed)}
        prompts = [p for p in prompts if p.set != name or p.id in drawn]
    if selection.limit is not None:
        prompts = stratified_sample(prompts, selection.limit, selection.sampling_seed)
    return prompts
