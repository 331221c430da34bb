"""Custom prompt files: a user's own prompts in txt, CSV, TSV, JSONL or Parquet.

A suite lists them as ``[[prompts.file]]`` entries; each becomes a set of its own, named by
the entry, so its prompts get ids like any named set's and mix freely with them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prompts.base import PROMPT_SETS, Prompt, PromptError, make_prompt, normalise_category
from prompts.files import (
    FORMATS,
    infer_format,
    position,
    prompt_text,
    read_lines,
    read_rows,
    require_columns,
)

_KEYS = {"name", "path", "prompt_column", "category_column", "format"}

# The name starts every prompt id, and ids become image file names: keep it path-safe.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class CustomFile:
    """One custom prompt file, validated.

    Attributes:
        name: Set name given to its prompts (must not be a registered set's name).
        path: Absolute path of the file.
        format: txt, csv, tsv, jsonl or parquet.
        prompt_column: Column holding the prompt (None for txt, which has no columns).
        category_column: Column holding the category, or None for no category.
    """

    name: str
    path: str
    format: str
    prompt_column: str | None = None
    category_column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Canonical JSON-able form; it parses back to the same entry.

        Unset columns are left out rather than written as None, which TOML cannot hold.
        """
        entry = {
            "name": self.name, "path": self.path, "format": self.format,
            "prompt_column": self.prompt_column, "category_column": self.category_column,
        }
        return {key: value for key, value in entry.items() if value is not None}

    def load(self) -> list[Prompt]:
        """Return the file's prompts in file order (blank txt lines skipped).

        Text is stripped of surrounding whitespace, which hand-edited files pick up.
        """
        path = Path(self.path)
        where = f"prompts.file {self.name!r} ({path})"
        if self.format == "txt":
            prompts = [make_prompt(self.name, i, text) for i, text in enumerate(read_lines(path))]
        else:
            rows = read_rows(path, self.format)
            assert self.prompt_column is not None  # guaranteed by parse_custom_file
            columns = [self.prompt_column]
            if self.category_column is not None:
                columns.append(self.category_column)
            require_columns(rows, columns, where)
            prompts = []
            for i, row in enumerate(rows):
                text = prompt_text(row.get(self.prompt_column), where, position(row, i)).strip()
                category = ""
                if self.category_column is not None:
                    category = normalise_category(row.get(self.category_column))
                prompts.append(make_prompt(self.name, i, text, category))
        if not prompts:
            raise PromptError(f"{where}: the file has no prompts")
        return prompts


def _optional_str(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise PromptError(f"{where}.{key}: expected a non-empty string")
    return value


def parse_custom_file(entry: Any, position: int, base_dir: Path) -> CustomFile:
    """Validate one ``[[prompts.file]]`` entry; errors name ``prompts.file[<position>]``.

    Args:
        entry: The TOML table.
        position: Its place in the list, for error messages.
        base_dir: Folder that a relative ``path`` is relative to (the suite file's).

    Returns:
        The entry with its path made absolute and its format and columns resolved.
    """
    where = f"prompts.file[{position}]"
    if not isinstance(entry, Mapping):
        raise PromptError(f"{where}: expected a table with name, path, prompt_column...")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise PromptError(f"{where}: unknown key {unknown[0]!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise PromptError(f"{where}.name: expected a name of letters, digits, '_', '.', '-'")
    if name in PROMPT_SETS:
        raise PromptError(f"{where}.name: {name!r} is already a prompt set's name")
    raw_path = entry.get("path")
    if not isinstance(raw_path, str) or not raw_path:
        raise PromptError(f"{where}.path: expected a path string")
    path = (base_dir / raw_path).resolve()
    if not path.is_file():
        raise PromptError(f"{where}.path: no such file: {path}")
    fmt = _optional_str(entry, "format", where)
    if fmt is None:
        try:
            fmt = infer_format(path)
        except PromptError as err:
            raise PromptError(f"{where}.format: {err}") from None
    elif fmt not in set(FORMATS.values()):
        known = ", ".join(sorted(set(FORMATS.values())))
        raise PromptError(f"{where}.format: unknown format {fmt!r} (known: {known})")
    prompt_column = _optional_str(entry, "prompt_column", where)
    category_column = _optional_str(entry, "category_column", where)
    if fmt == "txt":
        for key, value in (("prompt_column", prompt_column), ("category_column", category_column)):
            if value is not None:
                raise PromptError(f"{where}.{key}: a txt file has no columns (one prompt a line)")
    elif prompt_column is None:
        prompt_column = "prompt"
    return CustomFile(name, str(path), fmt, prompt_column, category_column)
