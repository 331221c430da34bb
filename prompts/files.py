"""Reading prompt tables from local files: the offline path of every set, and custom files.

Only the standard library is used here (Parquet excepted), so loading a local upstream file
costs milliseconds and ``import prompts`` stays light. Every failure is a :class:`PromptError`
with a one-line message that names the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from prompts.base import PromptError

#: Formats a custom prompt file may have, by file extension.
FORMATS: dict[str, str] = {
    ".txt": "txt", ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet",
}



class Row(dict[str, Any]):
    """One table row; ``line`` is the 1-based line of the file it starts on.

    None where rows have no lines (Parquet, hub datasets): messages then give the 1-based
    row number instead (see :func:`position`).
    """

    line: int | None = None


def _row(values: Mapping[str, Any], line: int | None) -> Row:
    row = Row(values)
    row.line = line
    return row


def position(row: Mapping[str, Any], index: int) -> str:
    """Where row ``index`` (0-based) sits, for messages: ``line N`` of its file, else ``row N``."""
    line = getattr(row, "line", None)
    return f"line {line}" if line is not None else f"row {index + 1}"


def infer_format(path: Path) -> str:
    """Return the format named by ``path``'s extension, or raise naming the known ones."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(set(FORMATS.values())))
        raise PromptError(f"{path}: cannot tell the format from {path.suffix or 'no extension'!r}"
                          f" (known: {known}); set format explicitly")
    return fmt


def find_file(path: Path, candidates: Sequence[str], set_name: str) -> Path:
    """Resolve a user-given file or folder to the upstream file of ``set_name``.

    Users point ``paths`` either at the file itself or at the folder they downloaded
    (a git checkout, a hub snapshot); ``candidates`` are the relative paths to try there.
    """
    if path.is_file():
        return path
    if not path.exists():
        raise PromptError(f"{set_name}: no such file or folder: {path}")
    for name in candidates:
        if (path / name).is_file():
            return path / name
    raise PromptError(f"{set_name}: none of {', '.join(candidates)} in folder {path}")


def read_text(path: Path) -> str:
    """The whole file as text; a BOM (common in spreadsheet exports) is dropped."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PromptError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PromptError(f"{path}: cannot read ({err})") from None


def read_lines(path: Path) -> list[str]:
    """Non-blank lines, stripped: the txt format (one prompt per line)."""
    return [line.strip() for line in read_text(path).splitlines() if line.strip()]


def read_delimited(path: Path, delimiter: str) -> list[Row]:
    """Rows of a CSV/TSV file with a header row, as dicts of strings."""
    # newline="" keeps line breaks inside quoted fields, as the csv module requires.
    reader = csv.reader(io.StringIO(read_text(path), newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise PromptError(f"{path}: the file is empty") from None
    except csv.Error as err:
        raise PromptError(f"{path}: malformed header ({err})") from None
    rows: list[Row] = []
    end = reader.line_num  # line_num is where the reader stopped; a quoted field may span lines
    try:
        for values in reader:
            start, end = end + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank line: spreadsheets leave them at the end
            if len(values) > len(header):
                raise PromptError(f"{path}: line {start} has {len(values)} fields, "
                                  f"the header {len(header)}")
            padded = values + [""] * (len(header) - len(values))
            rows.append(_row(dict(zip(header, padded, strict=True)), start))
    except csv.Error as err:
        raise PromptError(f"{path}: malformed line {reader.line_num} ({err})") from None
    return rows


def read_jsonl(path: Path) -> list[Row]:
    """One JSON object per line; blank lines are skipped."""
    rows: list[Row] = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise PromptError(f"{path}: line {number} is not JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise PromptError(f"{path}: line {number} is not a JSON object")
        rows.append(_row(row, number))
    return rows


def read_json(path: Path) -> Any:
    """A whole JSON document."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise PromptError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None


def read_parquet(path: Path) -> list[Row]:
    """Rows of a Parquet file; pyarrow is imported only here because it is heavy."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise PromptError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    if not path.is_file():
        raise PromptError(f"no such file: {path}")
    try:
        return pq.read_table(path).to_pylist()
    except Exception as err:  # pyarrow raises several unrelated types for a bad file
        raise PromptError(f"{path}: cannot read Parquet ({type(err).__name__})") from None


def read_rows(path: Path, fmt: str) -> list[Row]:
    """Rows of a tabular file in ``fmt`` (csv, tsv, jsonl or parquet)."""
    if fmt == "csv":
        return read_delimited(path, ",")
    if fmt == "tsv":
        return read_delimited(path, "\t")
    if fmt == "jsonl":
        return read_jsonl(path)
    if fmt == "parquet":
        return read_parquet(path)
    raise PromptError(f"{path}: {fmt!r} is not a tabular format")


def require_columns(rows: Iterable[Mapping[str, Any]], columns: Iterable[str], where: str) -> None:
    """Raise naming the first of ``columns`` missing from the first row (and the known ones)."""
    first = next(iter(rows), None)
    if first is None:
        raise PromptError(f"{where}: no rows")
    for column in columns:
        if column not in first:
            known = ", ".join(repr(c) for c in first)
            raise PromptError(f"{where}: unknown column {column!r} (columns: {known})")


def cell_text(value: Any) -> str:
    """A table cell as text: missing values (None, NaN from pandas) become empty."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def prompt_text(value: Any, where: str, at: str) -> str:
    """A prompt cell, which must not be empty; upstream text is kept byte for byte.

    ``at`` says where the cell is, 1-based (``line 5``, ``row 3``; see :func:`position`).
    """
    text = cell_text(value)
    if not text.strip():
        raise PromptError(f"{where}: {at} has an empty prompt")
    return text
