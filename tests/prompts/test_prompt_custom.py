"""Custom prompt files in every supported format, and their errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prompts import PromptError, parse_prompts_table, resolve_prompts

ROWS = [("a red cube", "shapes"), ("two dogs in the snow", "animals"), ("a blue  sphere", "shapes ")]


def _load(tmp_path: Path, **entry: Any) -> list:
    selection = parse_prompts_table({"file": [{"name": "mine", **entry}]}, tmp_path)
    return resolve_prompts(selection)


def test_txt_one_prompt_per_line(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("a red cube\n\n  two dogs  \n", "utf-8")
    items = _load(tmp_path, path="p.txt")
    assert [(p.text, p.index, p.category, p.set) for p in items] == [
        ("a red cube", 0, "", "mine"), ("two dogs", 1, "", "mine"),
    ]
    assert items[0].id.startswith("mine-00000-")


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_delimited_with_prompt_and_category_columns(tmp_path: Path, fmt: str) -> None:
    sep = "," if fmt == "csv" else "\t"
    lines = [f"id{sep}text{sep}kind"] + [f"{i}{sep}{t}{sep}{c}" for i, (t, c) in enumerate(ROWS)]
    (tmp_path / f"p.{fmt}").write_text("\n".join(lines) + "\n", "utf-8")
    items = _load(tmp_path, path=f"p.{fmt}", prompt_column="text", category_column="kind")
    assert [(p.text, p.category) for p in items] == [
        ("a red cube", "shapes"), ("two dogs in the snow", "animals"), ("a blue  sphere", "shapes"),
    ]


def test_jsonl_and_explicit_format(tmp_path: Path) -> None:
    text = "".join(json.dumps({"caption": t, "group": c}) + "\n" for t, c in ROWS)
    (tmp_path / "p.data").write_text(text, "utf-8")
    items = _load(tmp_path, path="p.data", format="jsonl", prompt_column="caption",
                  category_column="group")
    assert [p.category for p in items] == ["shapes", "animals", "shapes"]


def test_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"prompt": [t for t, _ in ROWS], "cat": [c for _, c in ROWS]})
    pq.write_table(table, tmp_path / "p.parquet")
    items = _load(tmp_path, path="p.parquet", category_column="cat")  # prompt_column defaults
    assert [p.text for p in items] == [t for t, _ in ROWS]


def test_ids_depend_on_name_index_and_text_only(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a red cube\ntwo dogs\n", "utf-8")
    (tmp_path / "b.csv").write_text("prompt\na red cube\ntwo dogs\n", "utf-8")
    assert [p.id for p in _load(tmp_path, path="a.txt")] == [p.id for p in _load(tmp_path, path="b.csv")]


@pytest.mark.parametrize(("entry", "problem"), [
    ({"path": "p.csv", "prompt_column": "text"}, "unknown column 'text'"),
    ({"path": "p.csv", "category_column": "kind"}, "unknown column 'kind'"),
])
def test_unknown_column_is_named(tmp_path: Path, entry: dict[str, Any], problem: str) -> None:
    (tmp_path / "p.csv").write_text("prompt,category\na cat,x\n", "utf-8")
    with pytest.raises(PromptError, match=problem):
        _load(tmp_path, **entry)


@pytest.mark.parametrize(("entry", "problem"), [
    ({"path": "missing.txt"}, "prompts.file[0].path: no such file"),
    ({"path": "p.xlsx"}, "prompts.file[0].format"),
    ({"path": "p.txt", "format": "xml"}, "unknown format 'xml'"),
    ({"path": "p.txt", "prompt_column": "text"}, "a txt file has no columns"),
    ({"path": "p.txt", "name": "drawbench"}, "already a prompt set's name"),
    ({"path": "p.txt", "name": "../evil"}, "prompts.file[0].name"),
])
def test_bad_entries_name_the_key(tmp_path: Path, entry: dict[str, Any], problem: str) -> None:
    (tmp_path / "p.txt").write_text("a cat\n", "utf-8")
    (tmp_path / "p.xlsx").write_text("", "utf-8")
    with pytest.raises(PromptError) as err:
        parse_prompts_table({"file": [{"name": "mine", **entry}]}, tmp_path)
    assert problem in str(err.value)


def test_two_files_with_one_name(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("a cat\n", "utf-8")
    entry = {"name": "mine", "path": "p.txt"}
    with pytest.raises(PromptError, match="same name"):
        parse_prompts_table({"file": [entry, entry]}, tmp_path)


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("p.txt", "\n\n", "has no prompts"),
    ("p.csv", "", "the file is empty"),
    # Errors name the file's own 1-based line: the header is line 1, blank lines count.
    ("p.csv", "prompt,category\n,x\n", "p.csv): line 2 has an empty prompt"),
    ("p.csv", "prompt,category\na,x\n\n\"multi\nline\",y\n,z\n", "p.csv): line 6 has an empty prompt"),
    ("p.tsv", "prompt\tcategory\na\tx\nb\tx\ty\n", "p.tsv: line 3 has 3 fields"),
    ("p.jsonl", '{"prompt": "a"}\n\n{"prompt": " "}\n', "p.jsonl): line 3 has an empty prompt"),
    ("p.jsonl", "[1, 2]\n", "line 1 is not a JSON object"),
    ("p.jsonl", "{oops\n", "line 1 is not JSON"),
])
def test_bad_content_is_a_one_line_error(tmp_path: Path, name: str, content: str,
                                         problem: str) -> None:
    (tmp_path / name).write_text(content, "utf-8")
    with pytest.raises(PromptError) as err:
        _load(tmp_path, path=name)
    assert problem in str(err.value) and "\n" not in str(err.value)


def test_custom_files_mix_with_named_sets(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("a cat\n", "utf-8")
    selection = parse_prompts_table(
        {"sets": ["smoke"], "file": [{"name": "mine", "path": "p.txt"}]}, tmp_path)
    assert [p.set for p in resolve_prompts(selection)] == ["smoke"] * 8 + ["mine"]


def test_rows_without_lines_are_numbered_from_one() -> None:
    # Hub and Parquet rows have no file lines: messages give the 1-based row number.
    from prompts.drawbench import drawbench_prompts

    rows = [{"Prompt": "a cat", "Category": "x"}, {"Prompt": " ", "Category": "x"}]
    with pytest.raises(PromptError, match=r"^hub copy: row 2 has an empty prompt$"):
        drawbench_prompts(rows, "hub copy")
