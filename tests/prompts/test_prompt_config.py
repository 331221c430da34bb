"""The ``[prompts]`` table: strict parsing, canonical form, and resolution into prompts."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from prompts import PromptError, PromptSelection, parse_prompts_table, resolve_prompts


def _suite(shared: Path, tmp_path: Path, body: str) -> PromptSelection:
    """Parse a ``[prompts]`` table written in a suite file inside ``tmp_path``."""
    text = body.replace("SHARED", shared.as_posix())
    return parse_prompts_table(tomllib.loads(text)["prompts"], tmp_path)


def test_default_is_the_smoke_set() -> None:
    selection = parse_prompts_table({}, Path("."))
    assert selection == PromptSelection()
    assert selection.sets == ("smoke",) and selection.seeds == (0,)
    assert [p.set for p in resolve_prompts(selection)] == ["smoke"] * 8


def test_full_table_parses_and_round_trips(shared: Path, tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("a cat\na dog\n", "utf-8")
    selection = _suite(shared, tmp_path, """
        [prompts]
        sets = ["drawbench", "parti"]
        limit = 40
        seeds = [0, 1, 2]
        sampling_seed = 9
        categories = ["Colors", "Animals", "Gary Marcus et al. "]
        dedupe = true
        paths = { drawbench = "SHARED/drawbench", parti = "SHARED/partiprompts/PartiPrompts.tsv" }
        options = { parti = { category = "category" } }
        [[prompts.file]]
        name = "mine"
        path = "mine.txt"
    """)
    assert selection.seeds == (0, 1, 2) and isinstance(selection.seeds, tuple)
    assert selection.categories == ("Colors", "Animals", "Gary Marcus et al.")
    assert selection.files[0].format == "txt"
    assert selection.files[0].path == str((tmp_path / "mine.txt").resolve())
    data = selection.to_dict()
    assert json.loads(json.dumps(data, sort_keys=True)) == data
    assert parse_prompts_table(data, Path("/elsewhere")) == selection
    hash(selection)  # frozen all the way down


def test_relative_paths_resolve_against_the_suite_folder(shared: Path, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    csv = (shared / "drawbench" / "drawbench.csv").read_text("utf-8")
    (tmp_path / "data" / "drawbench.csv").write_text(csv, "utf-8")
    selection = parse_prompts_table({"sets": ["drawbench"], "paths": {"drawbench": "data"}},
                                    tmp_path)
    assert dict(selection.paths)["drawbench"] == str((tmp_path / "data").resolve())
    assert len(resolve_prompts(selection)) == 200


@pytest.mark.parametrize(("table", "names"), [
    ({"set": ["smoke"]}, "unknown key 'set'"),
    ({"sets": ["nope"]}, "prompts.sets: unknown prompt set 'nope'"),
    ({"sets": []}, "prompts.sets"),
    ({"sets": ["smoke", "smoke"]}, "listed twice"),
    ({"limit": 0}, "prompts.limit"),
    ({"limit": True}, "prompts.limit"),
    ({"seeds": [0, 0]}, "duplicate seed"),
    ({"seeds": 3}, "prompts.seeds"),
    ({"sampling_seed": -1}, "prompts.sampling_seed"),
    ({"categories": "Colors"}, "prompts.categories"),
    ({"categories": ["a", " a "]}, "listed twice"),
    ({"dedupe": "yes"}, "prompts.dedupe"),
    ({"paths": {"drawbench": "x.csv"}}, "prompts.paths.drawbench: not one of prompts.sets"),
    ({"sets": ["drawbench"], "paths": {"drawbench": "nowhere.csv"}}, "no such file or folder"),
    ({"sets": ["parti"], "options": {"parti": {"colour": "x"}}}, "unknown option 'colour'"),
    ({"sets": ["parti"], "options": {"parti": {"category": "note"}}},
     "prompts.options.parti.category"),
    ({"options": {"parti": {}}}, "prompts.options.parti: not one of prompts.sets"),
    ({"sets": ["smoke"], "options": {"smoke": {"x": "y"}}}, "known: none"),
    ({"file": {"name": "x"}}, "prompts.file"),
    ({"file": [{"name": "x", "path": "a.txt", "colour": 1}]}, "prompts.file[0]: unknown key"),
])
def test_bad_tables_name_the_key(table: dict[str, Any], names: str, tmp_path: Path) -> None:
    with pytest.raises(PromptError) as err:
        parse_prompts_table(table, tmp_path)
    assert names in str(err.value)
    assert "\n" not in str(err.value)


def test_mixed_sets_keep_their_set_names(shared: Path, tmp_path: Path) -> None:
    selection = _suite(shared, tmp_path, """
        [prompts]
        sets = ["smoke", "drawbench", "geneval"]
        paths = { drawbench = "SHARED/drawbench", geneval = "SHARED/geneval" }
    """)
    items = resolve_prompts(selection)
    assert Counter(p.set for p in items) == {"smoke": 8, "drawbench": 200, "geneval": 553}
    assert [p.set for p in items[:9]] == ["smoke"] * 8 + ["drawbench"]
    assert len({p.id for p in items}) == len(items)


def test_categories_limit_and_seed_together(shared: Path, tmp_path: Path) -> None:
    selection = _suite(shared, tmp_path, """
        [prompts]
        sets = ["drawbench"]
        categories = ["Colors", "Text", "Gary Marcus et al."]
        limit = 14
        seeds = [0, 1]
        sampling_seed = 5
        paths = { drawbench = "SHARED/drawbench" }
    """)
    items = resolve_prompts(selection)
    # 25 + 21 + 10 = 56 candidates; 14 is a quarter of them.
    assert Counter(p.category for p in items) == {"Colors": 6, "Text": 5, "Gary Marcus et al.": 3}
    assert [p.id for p in items] == [p.id for p in resolve_prompts(selection)]
    assert selection.seeds == (0, 1)


def test_dedupe_in_the_suite(shared: Path, tmp_path: Path) -> None:
    body = """
        [prompts]
        sets = ["hpsv2"]
        categories = ["anime"]
        paths = { hpsv2 = "SHARED/hpsv2/hpsv2_benchmark_prompts.json" }
    """
    assert len(resolve_prompts(_suite(shared, tmp_path, body))) == 800
    assert len(resolve_prompts(_suite(shared, tmp_path, body + "dedupe = true\n"))) == 781


def test_parti_by_challenge_in_the_suite(shared: Path, tmp_path: Path) -> None:
    selection = _suite(shared, tmp_path, """
        [prompts]
        sets = ["parti"]
        categories = ["Writing & Symbols"]
        options = { parti = { category = "challenge" } }
        paths = { parti = "SHARED/partiprompts" }
    """)
    assert len(resolve_prompts(selection)) == 91


def test_files_only_suite_does_not_add_smoke(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("text,kind\na cat,animal\na car,vehicle\n", "utf-8")
    selection = parse_prompts_table({"file": [
        {"name": "mine", "path": "p.csv", "prompt_column": "text", "category_column": "kind"},
    ]}, tmp_path)
    assert selection.sets == ()
    items = resolve_prompts(selection)
    assert [(p.set, p.category) for p in items] == [("mine", "animal"), ("mine", "vehicle")]
    assert parse_prompts_table(selection.to_dict(), tmp_path) == selection


@pytest.mark.parametrize(("extra", "problem"), [
    ('limit = 201', "prompts.limit: 201 is more than the 200 prompts selected"),
    ('categories = ["Colours"]', "no selected prompt has category 'Colours'"),
    ('categories = ["Colors"]\nlimit = 26', "prompts.limit: 26 is more than the 25"),
])
def test_resolution_errors_are_one_line(shared: Path, tmp_path: Path, extra: str,
                                        problem: str) -> None:
    selection = _suite(shared, tmp_path, f"""
        [prompts]
        sets = ["drawbench"]
        paths = {{ drawbench = "SHARED/drawbench" }}
        {extra}
    """)
    with pytest.raises(PromptError) as err:
        resolve_prompts(selection)
    assert problem in str(err.value) and "\n" not in str(err.value)


def test_empty_set_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "drawbench.csv").write_text("Prompt,Category\n", "utf-8")
    selection = parse_prompts_table({"sets": ["drawbench"], "paths": {"drawbench": "."}},
                                    tmp_path)
    with pytest.raises(PromptError, match="empty"):
        resolve_prompts(selection)
